"""LiveLens side by side with other SFUs, driven by the same aiortc clients (issue 16)."""
