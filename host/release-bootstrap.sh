#!/bin/sh
# HostSetup, last step (host/release-bootstrap.sh in matra-infra): a host that runs no
# release yet (a droplet just created or replaced) starts the one the stack serves now,
# asked of the stack's ingress (MATRA_RELEASE_SOURCE in /etc/matra/deploy.env), or
# `latest` where no host records one yet, before the load balancer sends it traffic and
# before its predecessor is deleted. A host that runs a release already is left as it is.
set -eu
exec sudo /usr/local/sbin/matra-deploy bootstrap
