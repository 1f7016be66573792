# tristage: multi-stage image on Debian 12.
#   docker build -t tristage .
#   docker run -p 8000:8000 -p 8001:8001 -p 8002:8002 -v $PWD/models:/models tristage
# The build stage installs the project's own dependency list (scripts/install-deps); the runtime
# stage has only the shared libraries the two binaries load, and runs as user 10001:10001.
# .dockerignore keeps build trees, node_modules and results out of the context.
# Kubernetes: deploy/kubernetes and docs/deployment.md.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRISTAGE_BUILD_TESTS=OFF \
 && cmake --build build --target tristage-server tristage \
 && cmake --install build --prefix /opt/tristage

FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libtorch1.13 libopenblas0-pthread libjemalloc2 libgrpc++1.51 libprotobuf32 libabsl20220623 \
      libyaml-cpp0.7 libprometheus-cpp-core1.0 libcpp-httplib0.11 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 tristage \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin \
      tristage \
 && mkdir -p /models && chown 10001:10001 /models
COPY --from=build /opt/tristage /opt/tristage
ENV PATH=/opt/tristage/bin:$PATH
# By number: a kubelet enforcing runAsNonRoot cannot resolve a user name (it refuses to start the
# container), and deploy/kubernetes sets the same runAsUser/runAsGroup.
USER 10001:10001
# 8000: HTTP/REST (KServe v2 REST, /v1 records); 8001: gRPC (tristage.v1, KServe v2, health,
# reflection); 8002: Prometheus /metrics.
EXPOSE 8000 8001 8002
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["tristage", "health", "--server", "127.0.0.1:8001", "--timeout_s", "2"]
ENTRYPOINT ["tristage-server"]
CMD ["--bind", "0.0.0.0", "--http-port", "8000", "--grpc-port", "8001", "--metrics-port", "8002", \
     "--model-repository", "/models"]
