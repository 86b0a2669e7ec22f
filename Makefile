.PHONY: serve test bench

serve:   ## set up and run the server (embedded store)
	scripts/serve.sh $(ARGS)

test:    ## set up and run the whole test suite
	scripts/test.sh $(ARGS)

bench:   ## run the benchmarks (never part of the test suite); writes benchmarks/README.md
	scripts/bench.sh $(ARGS)
