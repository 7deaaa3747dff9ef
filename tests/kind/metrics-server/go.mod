// The real-kind lane builds metrics-server from this module (lane.sh
// step_metrics_server): upstream's go.mod decides every other version.
module kindops.test/kind/metrics-server

go 1.26.4

require sigs.k8s.io/metrics-server v0.9.0 // indirect
