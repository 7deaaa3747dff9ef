// The real-kind lane builds Tekton Triggers' commands from this module
// (lane.sh step_triggers): upstream's go.mod decides every other version (its
// only replace is for a docs generator the commands do not use).
module kindops.test/kind/triggers

go 1.26.4

require github.com/tektoncd/triggers v0.37.0 // indirect
