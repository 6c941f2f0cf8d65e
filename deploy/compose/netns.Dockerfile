# The region network-namespace holder of the compose topology
# (deploy/compose/netns): a static binary on an empty base, built by
# deploy/compose/compose.sh (make compose-up).
FROM scratch
COPY bin/cairn-netns /netns
ENTRYPOINT ["/netns"]
