//! The `note` step: text for the learner, one log line per line.

use super::step::{Done, StepCtx, StepResult};

pub(crate) async fn note_step(ctx: &mut StepCtx<'_>, text: &str) -> StepResult {
    for line in text.lines() {
        ctx.say(line);
    }
    Ok(Done::unchanged(text.lines().next().unwrap_or_default()))
}
