//! A preflight check as one line, the same for `kindops doctor` and phase
//! 0's log: `ok      docker    Docker engine 28.5.1 (API 1.51)`.

use crate::host_checks::Check;
#[cfg(test)]
use crate::host_checks::Verdict;

/// `{verdict:7} {name:9} {detail} ({hint})` ([`Check::line`]).
pub fn check_line(c: &Check) -> String {
    c.line()
}

/// Prints every check, one line each.
pub fn print(checks: &[Check]) {
    for c in checks {
        println!("{}", check_line(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_line_names_verdict_check_detail_and_hint() {
        let ok = Check {
            name: "docker".into(),
            verdict: Verdict::Ok,
            detail: "Docker engine 28.5.1 (API 1.51)".into(),
            hint: None,
        };
        assert_eq!(check_line(&ok), "ok      docker    Docker engine 28.5.1 (API 1.51)");
        let fail = Check {
            name: "kubectl".into(),
            verdict: Verdict::Fail,
            detail: "`kubectl` is not on PATH".into(),
            hint: Some("install kubectl".into()),
        };
        assert_eq!(
            check_line(&fail),
            "FAILED  kubectl   `kubectl` is not on PATH (install kubectl)"
        );
    }
}
