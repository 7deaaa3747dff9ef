// The real-kind lane builds Tekton Pipelines' commands from this module
// (lane.sh step_tekton): upstream's go.mod decides every other version (its
// only replace is for a docs generator the commands do not use).
module kindops.test/kind/tekton

go 1.26.4

require github.com/tektoncd/pipeline v1.15.0 // indirect
