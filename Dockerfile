# exchanged on Debian 12, built with the project's own scripts, running as an unprivileged user.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged exchangectl

FROM debian:bookworm
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends liburing2 libinih1 libsqlite3-0 libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/exchanged --create-home exchanged
COPY --from=build /src/build/bin/exchanged /src/build/bin/exchangectl /usr/local/bin/
COPY --from=build /src/config /etc/exchanged
USER exchanged
VOLUME /var/lib/exchanged
EXPOSE 9100
ENTRYPOINT ["/usr/local/bin/exchanged", "--config", "/etc/exchanged/standard.ini", \
            "--data-dir", "/var/lib/exchanged", "--listen", "0.0.0.0:9100"]
