.PHONY: serve test

serve:   ## set up and run the server (embedded store)
	scripts/serve.sh $(ARGS)

test:    ## set up and run the whole test suite
	scripts/test.sh $(ARGS)
