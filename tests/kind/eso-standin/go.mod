module kindops.test/kind/eso-standin

go 1.26.0
