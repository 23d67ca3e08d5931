# Hostel: multi-stage build, small non-root runtime image.
#   docker build -t hostel .
#   docker run -p 8080:8080 hostel            # serves the demo tenants
# In a cluster, mount your hostel.toml at /etc/hostel/hostel.toml and point
# HOSTEL_STATE at Postgres (see deploy/k8s/).

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-wasip2
COPY . .
# The `demo` feature also builds the example guests into target/guests/.
RUN cargo build --release --locked -p hostel \
 && mkdir -p /out/guests \
 && cp target/release/hostel /out/ \
 && cp target/guests/*.wasm /out/guests/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/hostel --create-home hostel
COPY --from=build /out/hostel /usr/local/bin/hostel
COPY --from=build /out/guests/ /opt/hostel/guests/
COPY deploy/hostel.toml /etc/hostel/hostel.toml
USER 10001
WORKDIR /var/lib/hostel
ENV HOSTEL_CONFIG=/etc/hostel/hostel.toml \
    HOSTEL_LISTEN=0.0.0.0:8080 \
    HOSTEL_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["hostel"]
CMD ["serve"]
