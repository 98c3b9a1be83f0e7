"""AN0732 detection: SQL stages over the workspace plus a small Python layer for scores and reasons."""
