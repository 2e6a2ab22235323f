"""The app's deploy command (python -m deploy) and what it needs: an SSH client that
checks every host against the stack's sshKnownHosts."""
