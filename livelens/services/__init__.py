"""Use cases of the product, shared by the CLI and the HTTP API.

Handlers stay thin: they parse, call one function here, and render.
"""
