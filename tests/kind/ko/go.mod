// The real-kind lane builds ko (github.com/google/ko v0.19.1, the coffee
// pipeline's image builder) from this module (lane.sh step_ko); ko's own
// go.mod decides the rest.
module kindops.test/kind/ko

go 1.26.3

require github.com/google/ko v0.19.1 // indirect
