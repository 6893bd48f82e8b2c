// The stand-in MI image's program (e2e/images/mi-standin/README section in e2e/README.md): Go standard
// library only, built static (CGO_ENABLED=0).
module imaas.test/mi-standin

go 1.24
