# Offline stand-in for the official zricethezav/gitleaks image: the gitleaks binary built
# from source with `go install` (static), at /usr/bin/gitleaks like the official image.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
COPY gitleaks /usr/bin/gitleaks
RUN chmod 0755 /usr/bin/gitleaks && gitleaks version
ENTRYPOINT ["/usr/bin/gitleaks"]
