"""The technicians' and managers' web page at /ui: server-rendered, no build step, no external assets."""
