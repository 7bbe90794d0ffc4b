{
  description = "server-bench: HTTP server implementations compared across machine sizes, in NixOS VMs";

  inputs = {
    # Pinned in flake.lock to nixos-unstable 3e3afe51 (2025-06-07), see nix/README.md.
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    # The two gosherve versions the benchmark compares, by commit (tags v0.3.5 and v0.3.3). Their
    # own flakes build them; `follows` makes both use our nixpkgs, so one Go toolchain builds both
    # and the comparison measures the code change, not two compilers (nix/README.md).
    gosherve = {
      url = "github:jnsgruk/gosherve/c5647476a8c6bcdf703ef685809ad06007774b6f";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    gosherve-old = {
      url = "github:jnsgruk/gosherve/72618c30800dbc9954b028380543f0f860da87cf";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    # servy, gosherve's Rust rewrite, by commit (it has no tags); its own flake builds it with our
    # nixpkgs. It embeds its site at build time, so servyFor below builds it for the generated site.
    servy = {
      url = "github:jnsgruk/servy/7511efd7b3b41917569f04ebd8b06cec66faabdf";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      gosherve,
      gosherve-old,
      servy,
    }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = lib.genAttrs systems;

      # One attribute set of sizes generates every VM (nix/sizes.nix, pure, tested).
      sizes = import ./nix/sizes.nix;

      # Guest paths shared by packages.site (its nginx.conf) and vm.nix (nix/guest-paths.nix).
      guestPaths = import ./nix/guest-paths.nix;
      guestWebroot = guestPaths.webroot;
      guestNginxPrefix = guestPaths.nginxPrefix;

      pkgsFor = system: nixpkgs.legacyPackages.${system};

      ourPackages =
        system:
        let
          pkgs = pkgsFor system;
        in
        import ./nix/packages.nix {
          inherit (pkgs)
            lib
            stdenvNoCC
            runCommand
            makeWrapper
            cacert
            typescript
            k6
            util-linux
            bun
            ;
          # Node 20: the version the code targets and CI runs.
          nodejs = pkgs.nodejs_20;
          inherit guestWebroot guestNginxPrefix;
        };

      # servy's flake package with SERVY_ASSETS_DIR pointed at the generated site (its nix/servy.nix
      # sets env.SERVY_ASSETS_DIR = "./tests/servy_assets"). buildRustPackage is lib.extendMkDerivation
      # over stdenv.mkDerivation and merges `env = { … } // args.env or { }`, so overrideAttrs sees
      # that env and replaces the one variable. Its tests assume its own assets: no check phase.
      servyFor =
        system: site:
        servy.packages.${system}.servy.overrideAttrs (old: {
          env = old.env // {
            SERVY_ASSETS_DIR = "${site}/webroot";
          };
          doCheck = false;
        });

      # What vm.nix runs, built for the VM's system.
      vmPackages = system: {
        inherit (ourPackages system) tsherve tsherve-bun k6test site;
        gosherve = gosherve.packages.${system}.gosherve;
        gosherve-old = gosherve-old.packages.${system}.gosherve;
        servy = servyFor system (ourPackages system).site;
      };

      mkVm =
        system: size:
        lib.nixosSystem {
          modules = [
            ./vm.nix
            {
              nixpkgs.hostPlatform = system;
              serverBench = {
                inherit size;
                packages = vmPackages system;
              };
            }
          ];
        };

      vmsFor = system: lib.mapAttrs (_: size: mkVm system size) sizes;

      # Each size's runner as an unbuilt derivation: the driver builds only the sizes a command
      # uses (nix/vm-drvs.nix), so no app depends on every VM.
      vmRunnersFor = system: lib.mapAttrs (_: vm: vm.config.system.build.vm) (vmsFor system);
      runnerDrvsJson = system: import ./nix/vm-drvs.nix (vmRunnersFor system);

      # Apps are shell files (nix/apps/*.sh) wrapped by writeShellApplication; the only thing
      # prepended is the runner table for this system (one line: shellcheck sees no split quoting).
      mkApp =
        system: name:
        let
          pkgs = pkgsFor system;
          script = pkgs.writeShellApplication {
            inherit name;
            runtimeInputs = [ self.packages.${system}.server-bench ];
            text =
              "export SERVER_BENCH_VM_DRVS=${lib.escapeShellArg (runnerDrvsJson system)}\n"
              + builtins.readFile (./nix/apps + "/${name}.sh");
          };
        in
        {
          type = "app";
          program = lib.getExe script;
        };
    in
    {
      # A real NixOS machine as a `bench --backend hosts` machine (nix/host-module.nix, docs/hosts.md):
      # import it, set serverBench.host = { size; serverCpus; generatorCpus; }, and apply with
      # nixos-rebuild switch --target-host. The packages are this flake's, for the machine's system.
      nixosModules.server-bench =
        { pkgs, lib, ... }:
        {
          imports = [ ./nix/host-module.nix ];
          serverBench.packages = lib.mkDefault (vmPackages pkgs.stdenv.hostPlatform.system);
        };
      nixosModules.default = self.nixosModules.server-bench;

      nixosConfigurations = lib.mapAttrs' (
        name: vm: lib.nameValuePair "bench-${name}" vm
      ) (vmsFor "x86_64-linux");

      packages = forAllSystems (
        system:
        let
          ours = ourPackages system;
        in
        {
          inherit (ours)
            server-bench
            tsherve
            tsherve-bun
            k6test
            site
            ;
          npm-deps = ours.npmDeps;
          gosherve = gosherve.packages.${system}.gosherve;
          gosherve-old = gosherve-old.packages.${system}.gosherve;
          servy = servyFor system ours.site;
          default = ours.server-bench;
        }
        // lib.mapAttrs' (
          name: vm: lib.nameValuePair "vm-${name}" vm.config.system.build.vm
        ) (vmsFor system)
      );

      apps = forAllSystems (system: {
        bench = mkApp system "bench";
        benchvm-test = mkApp system "benchvm-test";
        benchvm-exec = mkApp system "benchvm-exec";
        default = mkApp system "bench";
      });

      devShells = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
        in
        {
          default = pkgs.mkShell {
            packages = [
              pkgs.nodejs_20
              pkgs.go
              pkgs.k6
              pkgs.wrk
              pkgs.nginx
              pkgs.openssh
              pkgs.nixfmt-rfc-style
              pkgs.shellcheck
            ];
          };
        }
      );

      formatter = forAllSystems (system: (pkgsFor system).nixfmt-rfc-style);

      checks = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
          ours = ourPackages system;
          nixFormatter = pkgs.nixfmt-rfc-style;
        in
        {
          # The compiled tree (tsc emit) and its npm dependencies (the fixed-output hash).
          build = ours.server-bench;
          # The executables start: tsherve parses its configuration and prints its usage.
          tsherve-help = pkgs.runCommand "tsherve-help" { } ''
            ${lib.getExe ours.tsherve} --help > "$out"
            grep -q TSHERVE_REDIRECT_MAP_URL "$out"
          '';
          # The same under Bun from nixpkgs (tsherve-bun).
          tsherve-bun-help = pkgs.runCommand "tsherve-bun-help" { } ''
            ${lib.getExe ours.tsherve-bun} --help > "$out"
            grep -q TSHERVE_RUNTIME "$out"
          '';
          # The generated site and the engine's nginx reference configuration are accepted by nginx.
          site = pkgs.runCommand "site-nginx-config" { nativeBuildInputs = [ pkgs.nginx ]; } ''
            test -s ${ours.site}/webroot/index.html
            test -s ${ours.site}/redirects.txt
            mkdir -p "$TMPDIR/prefix"
            sed -e "s#${guestNginxPrefix}#$TMPDIR/prefix#g" -e "s#${guestWebroot}#${ours.site}/webroot#g" \
              ${ours.site}/nginx.conf > "$TMPDIR/nginx.conf"
            nginx -t -e stderr -c "$TMPDIR/nginx.conf"
            touch "$out"
          '';
          # Every .nix file is formatted (nix fmt).
          nixfmt = pkgs.runCommand "nixfmt-check" { nativeBuildInputs = [ nixFormatter ]; } ''
            cd ${./.}
            nixfmt --check flake.nix vm.nix nix/*.nix
            touch "$out"
          '';
          # The smallest VM's system closure builds (nix flake check only evaluates it).
          vm-1-system = (mkVm system sizes."1").config.system.build.toplevel;
          # Boots the size-1 VM under the NixOS test driver (KVM) and checks every unit
          # (nix/vm-test.py).
          vm-boot = pkgs.testers.runNixOSTest {
            name = "server-bench-vm-boot";
            nodes.machine = {
              imports = [ ./vm.nix ];
              serverBench = {
                size = sizes."1";
                packages = vmPackages system;
              };
            };
            testScript = builtins.readFile ./nix/vm-test.py;
          };
        }
      );
    };
}
