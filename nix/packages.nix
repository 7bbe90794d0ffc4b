# The TypeScript parts as Nix packages: the npm runtime dependencies as one fixed-output
# derivation (nix.md §5), the compiled tree, thin executables (server-bench, tsherve, k6test),
# and the generated default site with the engine's nginx reference configuration for the VM.
{
  lib,
  stdenvNoCC,
  runCommand,
  makeWrapper,
  cacert,
  nodejs,
  typescript,
  k6,
  util-linux,
  # Runs tsherve-bun (nixpkgs pkgs/by-name/bu/bun/package.nix: $out/bin/bun, meta.mainProgram).
  bun,
  # Guest paths the site's nginx configuration refers to (vm.nix owns them).
  guestWebroot,
  guestNginxPrefix,
}:
let
  root = ../.;
  # Node flags of the tsherve executable: the same as the shebang of servers/tsherve/src/cli.ts
  # (young generation capped at its starting size; driver/test/nix.test.ts checks they agree).
  tsherveNodeFlags = "--max-semi-space-size=8";
  # Only what the build reads: a change to the README or the tests must not rebuild anything.
  keep = [
    "package.json"
    "package-lock.json"
    "tsconfig.json"
    "tsconfig.build.json"
    "servers"
    "shared"
    "driver"
    "k6"
    "matrix"
    "nix"
  ];
  src = lib.cleanSourceWith {
    name = "server-bench-source";
    src = root;
    filter =
      path: type:
      let
        rel = lib.removePrefix (toString root + "/") (toString path);
        top = builtins.head (lib.splitString "/" rel);
        base = baseNameOf path;
      in
      builtins.elem top keep
      # Of nix/ only the site build step: the README and the .nix files do not change the build.
      && (top != "nix" || rel == "nix" || rel == "nix/gen-site.mjs")
      && base != "node_modules"
      && base != "dist"
      && !(lib.hasSuffix ".md" base)
      && !(type == "directory" && base == "test");
  };

  version = (lib.importJSON ../package.json).version;

  # `npm ci` against npm's default registry (named nowhere in this repository): our lock has no
  # `resolved` URLs, so nixpkgs' fetchNpmDeps (and with it buildNpmPackage) finds "no cacheable
  # dependencies" and importNpmLock fails on the missing attribute (nix/README.md); the lock's
  # `integrity` fields still pin every tarball, and the output hash pins the whole tree.
  # scripts/npm-deps-hash.sh computes the same hash outside Nix; CI fails when nix/npm-deps.json no
  # longer matches the lock.
  npmDeps = stdenvNoCC.mkDerivation {
    pname = "server-bench-npm-deps";
    inherit version;
    src = lib.fileset.toSource {
      root = ../.;
      fileset = lib.fileset.unions [
        ../package.json
        ../package-lock.json
      ];
    };
    # cacert: stdenv points NIX_SSL_CERT_FILE and SSL_CERT_FILE at /no-cert-file.crt, and nixpkgs'
    # Node reads OpenSSL's default store (--openssl-use-def-ca-store), which nixpkgs' OpenSSL takes
    # from NIX_SSL_CERT_FILE, then SSL_CERT_FILE: without a bundle `npm ci` fails with
    # UNABLE_TO_GET_ISSUER_CERT_LOCALLY. cacert's setup hook exports both as its bundle.
    nativeBuildInputs = [
      nodejs
      cacert
    ];
    impureEnvVars = lib.fetchers.proxyImpureEnvVars;
    buildPhase = ''
      runHook preBuild
      export HOME="$TMPDIR" npm_config_cache="$TMPDIR/npm-cache" npm_config_update_notifier=false
      npm ci --omit=dev --ignore-scripts --no-audit --no-fund
      # npm's own record of the install; its content differs between npm versions.
      rm -f node_modules/.package-lock.json
      # npm 10 leaves empty scope folders for omitted dev packages (npm 11 does not): drop them so
      # every npm gives the same tree, and the same hash.
      find node_modules -type d -empty -delete
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      mv node_modules "$out"
      runHook postInstall
    '';
    # A fixed-output path may not refer to the store: no shebang patching, no stripping.
    dontFixup = true;
    outputHashMode = "recursive";
    outputHashAlgo = "sha256";
    outputHash = (lib.importJSON ./npm-deps.json).hash;
  };

  # Compiled JavaScript in the repository's layout (dist/, k6/, driver/assets/, node_modules), so
  # every relative lookup the code does from import.meta.url works as in a checkout. Type checking
  # is CI's job (it has the dev dependencies); here tsc only emits (--noCheck, no @types).
  server-bench = stdenvNoCC.mkDerivation {
    pname = "server-bench";
    inherit version src;
    nativeBuildInputs = [
      typescript
      makeWrapper
    ];
    buildPhase = ''
      runHook preBuild
      echo '{ "extends": "./tsconfig.build.json", "compilerOptions": { "types": [], "sourceMap": false } }' > tsconfig.nix.json
      tsc -p tsconfig.nix.json --noCheck
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      lib=$out/lib/server-bench
      mkdir -p "$lib" "$out/bin"
      cp -R dist package.json "$lib/"
      [ -d k6 ] && cp -R k6 "$lib/"
      [ -d driver/assets ] && mkdir -p "$lib/driver" && cp -R driver/assets "$lib/driver/"
      ln -s ${npmDeps} "$lib/node_modules"
      makeWrapper ${lib.getExe nodejs} "$out/bin/server-bench" --add-flags "$lib/dist/driver/src/cli/main.js"
      makeWrapper ${lib.getExe nodejs} "$out/bin/tsherve" --add-flags "${tsherveNodeFlags} $lib/dist/servers/tsherve/src/cli.js"
      runHook postInstall
    '';
    passthru = {
      inherit npmDeps;
    };
    meta.mainProgram = "server-bench";
  };

  # Thin executables: a makeWrapper call each (nixfmt layout: the attribute set of two items is
  # expanded, so the arguments after the name go on lines of their own).
  wrapped =
    name: script:
    runCommand "${name}-${version}"
      {
        nativeBuildInputs = [ makeWrapper ];
        meta.mainProgram = name;
      }
      script;

  tsherve = wrapped "tsherve" ''
    makeWrapper ${lib.getExe nodejs} "$out/bin/tsherve" \
      --add-flags "${tsherveNodeFlags} ${server-bench}/lib/server-bench/dist/servers/tsherve/src/cli.js"
  '';

  # tsherve on Bun (issue 17): the same compiled tree under Bun from nixpkgs, started directly (no
  # Node process in between); TSHERVE_RUNTIME=bun says so explicitly.
  tsherve-bun = runCommand "tsherve-bun-${version}" {
    nativeBuildInputs = [ makeWrapper ];
    meta.mainProgram = "tsherve-bun";
  } ''
    makeWrapper ${lib.getExe bun} "$out/bin/tsherve-bun" \
      --add-flags "${server-bench}/lib/server-bench/dist/servers/tsherve/src/cli.js" \
      --set TSHERVE_RUNTIME bun
  '';

  # k6test for the VM: k6 and taskset from nixpkgs on PATH, the offline k6 script from the store.
  k6testPath = lib.makeBinPath [
    k6
    util-linux
  ];
  k6test = wrapped "k6test" ''
    makeWrapper ${lib.getExe nodejs} "$out/bin/k6test" \
      --add-flags ${server-bench}/lib/server-bench/dist/driver/src/guest/k6test-cli.js \
      --prefix PATH : ${k6testPath} \
      --set SERVER_BENCH_K6_SCRIPT ${server-bench}/lib/server-bench/k6/script.js
  '';

  # The default site (seeded, ~40 MB, ~680 files) made by the engine's generator, plus its redirect
  # map and the engine's nginx reference configuration pointed at the guest's paths.
  site = runCommand "server-bench-site-${version}" { nativeBuildInputs = [ nodejs ]; } ''
    node ${src}/nix/gen-site.mjs ${server-bench}/lib/server-bench "$out" ${guestWebroot} ${guestNginxPrefix}
  '';
in
{
  inherit
    npmDeps
    server-bench
    tsherve
    tsherve-bun
    k6test
    site
    ;
}
