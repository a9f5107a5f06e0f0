# syntax=docker/dockerfile:1
# The TokenWire server as a container image, built from the repository root:
#   docker build -t tokenwire .
# Three stages: the demo page (web/) with Node, the server with the .NET SDK, and the result on the ASP.NET Core runtime
# image as a non-root user. docker-compose.yml runs three of these on one redis-server behind nginx (docs/cluster.md).
# No container engine runs on the development machine: tests/interop/container.test.mjs checks this file's paths and
# starts the published app with the compose file's environment instead.

# Both build stages run on the build machine's platform ($BUILDPLATFORM), not emulated: the page is the same on every
# platform, and the SDK publishes for the image's (TARGETARCH), so
# `docker buildx build --platform linux/amd64,linux/arm64 .` builds natively on either.

# 1. The demo page: what src/TokenWire.Server's RestoreWebApp/BuildWebApp targets run (npm ci, npm run build).
FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# 2. The server, published with the page from stage 1 in web/dist (SkipWebBuild: this stage has no Node), for the
#    image's architecture (-a amd64 or arm64 is linux-x64 or linux-arm64) on the runtime image's shared framework. A
#    publish for a runtime is ReadyToRun (the server's .csproj): a node that has just started serves its first resumes
#    and history reads from precompiled code rather than tier-0 JIT; the restore fetches the runtime packs and crossgen2.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
WORKDIR /src
COPY Directory.Build.props ./
COPY src/ src/
COPY --from=web /src/web/dist web/dist
RUN dotnet publish src/TokenWire.Server -c Release -a $TARGETARCH --no-self-contained -o /app -p:SkipWebBuild=true

# 3. The runtime image. URLS, not ASPNETCORE_URLS: appsettings.json's Urls (localhost:8080, for `dotnet run`) would
#    override the latter, and the server would listen on the container's loopback only.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
ENV URLS=http://+:8080 \
    ASPNETCORE_ENVIRONMENT=Production
EXPOSE 8080
USER $APP_UID
# The runtime image has no curl: the server answers its own health check (GET /health, exit 0 on 200).
HEALTHCHECK --interval=10s --timeout=6s --start-period=20s --retries=3 CMD ["dotnet", "TokenWire.Server.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "TokenWire.Server.dll"]
