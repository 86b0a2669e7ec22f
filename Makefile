.PHONY: serve test bench soak

serve:   ## set up and run the server (embedded store)
	scripts/serve.sh $(ARGS)

test:    ## set up and run the whole test suite
	scripts/test.sh $(ARGS)

bench:   ## run the benchmarks (never part of the test suite); writes benchmarks/README.md
	scripts/bench.sh $(ARGS)

soak:    ## the control plane's 30-minute soak alone (make bench runs a 2-minute one)
	scripts/setup.sh --test
	status=0; .venv/bin/python -m benchmarks.control_plane --scenarios soak --soak-minutes 30 \
	  --out build/bench/soak-30.json || status=$$?; \
	.venv/bin/python -m benchmarks.control_plane.table build/bench/soak-30.json; exit $$status
