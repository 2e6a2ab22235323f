"""The app's deploy command (python -m deploy): from a stack's outputs, a release rolled
out host by host, each host swapping to it only once it passes its health check and
watching it before the next host starts (host/matra_deploy.py is the host's half), over
SSH as the deploy user with every host key checked against the stack's sshKnownHosts."""
