// The real-kind lane builds the registry (CNCF distribution) from this module
// (lane.sh step_registry): upstream's go.mod decides every other version.
module kindops.test/kind/registry

go 1.26.4

require github.com/distribution/distribution/v3 v3.1.2 // indirect
