# One NixOS benchmark VM, parameterised by a size from nix/sizes.nix (data: matrix/sizes.json;
# flake.nix builds one per size): qemu-vm imported, headless, no network beyond the SSH forward the
# driver asks for at boot; one hardened systemd unit per implementation (matrix/impls.json, started
# by k6test, not at boot), the site copied to guest-local disk, the redirect map on loopback.
# The driver <-> VM contract is nix/README.md.
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:
let
  cfg = config.serverBench;
  size = cfg.size;

  guestPaths = import ./nix/guest-paths.nix; # shared with packages.site's nginx.conf
  # The guest's fixed facts (paths, the map server, the server units' settings and hardening), the
  # same file the Debian guest image is built from (driver/src/vm/image).
  guest = lib.importJSON ./matrix/guest.json;
  siteDir = guestPaths.webroot;
  mapDir = guest.paths.mapDir;
  mapBase = "http://${guest.mapServer.host}:${toString guest.mapServer.port}";
  mapUrl = "${mapBase}/redirects.txt";
  nginxPrefix = guestPaths.nginxPrefix;
  shared = guest.paths.shared;

  # systemd CPU lists: "0", "0-15", "16-19".
  cpuRange =
    list:
    let
      first = toString (builtins.head list);
      last = toString (lib.last list);
    in
    if builtins.length list == 1 then first else "${first}-${last}";
  serverCpus = cpuRange size.serverCpuList;
  loadgenCpus = cpuRange size.loadgenCpuList;

  # Parca's agent (nix/parca.nix via serverBench.parcaAgent): its unit in every VM, started at boot
  # only when a server is set there; else by `bench --backend vm --parca HOST:PORT`.
  parca = import ./nix/parca-agent.nix {
    settings = cfg.parcaAgent;
    exe = lib.getExe pkgs.parca-agent;
  };

  impls = import ./nix/impls.nix {
    packages = {
      inherit (cfg.packages) tsherve tsherve-bun gosherve gosherve-old servy;
      nginx = pkgs.nginx;
    };
    inherit size mapUrl;
    webroot = siteDir;
    nginxConf = "${cfg.packages.site}/nginx.conf";
  };

  # Hardening that leaves the measured path alone (matrix/guest.json): no SystemCallFilter; its
  # seccomp filters (address families, W^X, namespaces, personality) match only socket/mmap/clone/personality, and
  # the kernel's seccomp cache lets read/write/sendfile/epoll through without running a filter.
  hardening = guest.hardening;

  shellApp =
    name: runtimeInputs: file:
    pkgs.writeShellApplication {
      inherit name runtimeInputs;
      text = builtins.readFile file;
    };
  siteScript = shellApp "bench-site" [
    pkgs.coreutils
    pkgs.findutils
  ] ./nix/guest/bench-site.sh;
  sshSetupScript = shellApp "bench-ssh-setup" [
    pkgs.coreutils
    pkgs.openssh
  ] ./nix/guest/bench-ssh-setup.sh;

  serverUnit = impl: {
    name = impl.unit;
    value = {
      description = "server-bench: ${impl.description}";
      # Started and stopped by k6test only, one at a time (they share ports 8080/8081).
      requires = [
        "bench-site.service"
        "bench-redirect-map.service"
      ];
      after = [
        "bench-site.service"
        "bench-redirect-map.service"
      ];
      environment = impl.environment;
      # guest.serverUnit: Type, Restart = "no" (a crash is a finding, not something to paper over
      # mid-measurement), stop timeout, file limit, no swap, CPU/memory/IO accounting.
      serviceConfig =
        hardening
        // guest.serverUnit
        // {
          ExecStart = lib.escapeShellArgs impl.command;
          MemoryDenyWriteExecute = impl.memoryDenyWriteExecute;
          # The size: the server's cores and memory. k6 runs on the vCPUs after them.
          AllowedCPUs = serverCpus;
          MemoryMax = "${toString size.memoryMiB}M";
        }
      // lib.optionalAttrs (impl.name == "nginx") {
        # The engine's nginx.conf keeps pid, error log and temp paths under this prefix.
        RuntimeDirectory = baseNameOf nginxPrefix;
      };
    };
  };

  # What k6test reads at run time (the same data the units were made from).
  sizeJson = {
    inherit (size)
      name
      cpus
      memoryMiB
      vus
      loadgenCpus
      serverCpuList
      loadgenCpuList
      vmCores
      vmMemoryMiB
      ;
    # Default placement; `k6test --loadgen shared` puts k6 on serverCpuList instead.
    loadgen = "dedicated";
  };
  implsJson = map (
    impl:
    removeAttrs impl [
      "command"
      "environment"
      "memoryDenyWriteExecute"
    ]
  ) (builtins.attrValues impls);
  vmJson = {
    webroot = siteDir;
    inherit mapUrl;
    mapFetchesUrl = "${mapBase}/fetches";
    mapFetchesResetUrl = "${mapBase}/fetches/reset";
    inherit (guest.paths) outDir;
  };
in
{
  imports = [ "${modulesPath}/virtualisation/qemu-vm.nix" ];

  options.serverBench = {
    size = lib.mkOption {
      type = lib.types.attrs;
      description = "One size record from nix/sizes.nix (cpus, memoryMiB, vus, loadgenCpus, …).";
    };
    packages = lib.mkOption {
      type = lib.types.attrsOf lib.types.package;
      description = "tsherve, tsherve-bun, gosherve, gosherve-old, servy (built for site), k6test and site, built for this VM's system.";
    };
    parcaAgent = lib.mkOption {
      type = lib.types.attrs;
      default = import ./nix/parca.nix;
      description = "Parca agent settings (nix/parca.nix): host = null (off) or the Parca server's address as the host reaches it, port, insecure, extraArgs.";
    };
  };

  config = {
    assertions =
      let
        where = "server-bench VM bench-${toString (size.name or "?")}";
        missing = lib.filter (p: !(cfg.packages ? ${p})) [
          "tsherve"
          "tsherve-bun"
          "gosherve"
          "gosherve-old"
          "servy"
          "k6test"
          "site"
        ];
      in
      [
        {
          assertion = size.cpus >= 1;
          message = "${where}: cpus must be at least 1 (got ${toString size.cpus}); fix matrix/sizes.json.";
        }
        {
          assertion = size.memoryMiB >= 256;
          message = "${where}: memoryMiB must be at least 256 (got ${toString size.memoryMiB}): below that no server under test fits beside the site; fix matrix/sizes.json.";
        }
        {
          assertion = size.loadgenCpus >= 1;
          message = "${where}: loadgenCpus must be at least 1 (got ${toString size.loadgenCpus}): k6 needs a vCPU of its own for the default dedicated placement; fix matrix/sizes.json.";
        }
        {
          assertion =
            size.vmCores == size.cpus + size.loadgenCpus
            && builtins.length size.serverCpuList == size.cpus
            && builtins.length size.loadgenCpuList == size.loadgenCpus;
          message = "${where}: vmCores, serverCpuList and loadgenCpuList disagree with cpus + loadgenCpus; pass a record from nix/sizes.nix.";
        }
        {
          assertion = size.vus >= 1;
          message = "${where}: vus must be at least 1 (got ${toString size.vus}).";
        }
        {
          assertion = missing == [ ];
          message = "${where}: serverBench.packages lacks ${lib.concatStringsSep ", " missing}; flake.nix passes them.";
        }
        {
          assertion = !config.networking.nftables.enable;
          message = "${where}: the loopback NOTRACK rules in vm.nix are iptables commands; keep networking.nftables.enable = false or port them.";
        }
      ];

    networking.hostName = "bench-${size.name}";
    system.stateVersion = "25.05";

    virtualisation = {
      cores = size.vmCores;
      memorySize = size.vmMemoryMiB;
      diskSize = size.diskSizeMiB;
      # Serial console on the runner's stdio: the driver logs it; no display needed.
      graphics = false;
      # The disk image stays the module's default (./bench-<size>.qcow2 in the caller's directory)
      # for hand use; the driver always passes a fresh NIX_DISK_IMAGE so no state leaks between runs.
      # No fixed forward: the driver adds hostfwd=tcp:127.0.0.1:<free port>-:22 via QEMU_NET_OPTS.
      # With nix/parca.nix set, one guest-to-host forward reaches the Parca server.
      forwardPorts = lib.optional (parca.forward != null) parca.forward;
      # The guest reaches neither the host nor the internet (but for that forward); a run needs neither.
      restrictNetwork = true;
    };

    # Small and quick to boot: no Nix daemon, no docs, no password anywhere.
    nix.enable = false;
    documentation.enable = false;
    users.mutableUsers = false;
    users.users.root.hashedPassword = "!";
    # Root's only way in is the per-run key installed at boot, which NixOS cannot see at build time;
    # without this its "no password and no key" lock-out assertion would stop the build.
    users.allowNoPasswordLogin = true;

    networking.firewall = {
      enable = true;
      allowedTCPPorts = [ 22 ];
      # k6 talks to the server over loopback: keep that traffic out of conntrack, which the
      # firewall would otherwise load for it (the original ran without a firewall at all).
      extraCommands = ''
        iptables -w -t raw -D PREROUTING -i lo -j CT --notrack 2>/dev/null || true
        iptables -w -t raw -D OUTPUT -o lo -j CT --notrack 2>/dev/null || true
        iptables -w -t raw -I PREROUTING -i lo -j CT --notrack
        iptables -w -t raw -I OUTPUT -o lo -j CT --notrack
      '';
      extraStopCommands = ''
        iptables -w -t raw -D PREROUTING -i lo -j CT --notrack 2>/dev/null || true
        iptables -w -t raw -D OUTPUT -o lo -j CT --notrack 2>/dev/null || true
      '';
    };

    services.openssh = {
      enable = true;
      openFirewall = false; # the firewall above opens 22 and nothing else
      # One ed25519 host key, made by bench-ssh-setup and pinned by the driver.
      hostKeys = [
        {
          type = "ed25519";
          path = guest.paths.hostKey;
        }
      ];
      settings = {
        PermitRootLogin = "prohibit-password";
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
      };
    };

    systemd.services = {
      # It reads every process's stacks through eBPF: root with CAP_BPF and CAP_SYS_ADMIN (as the
      # NixOS test for Parca in jpds/nixpkgs, nixos/tests/parca.nix, runs it).
      parca-agent = {
        description = "Parca agent: on-CPU profiles of the whole VM to the Parca server (nix/parca.nix or bench --parca)";
        wantedBy = lib.optional parca.enable "multi-user.target";
        serviceConfig = {
          ExecStart = lib.escapeShellArgs parca.args;
          User = "root";
          AmbientCapabilities = [
            "CAP_BPF"
            "CAP_SYS_ADMIN"
          ];
          Restart = "on-failure";
          RestartSec = 10;
        };
      };

      bench-ssh-setup = {
        description = "server-bench: install the per-run SSH key, publish the host key";
        wantedBy = [ "sshd.service" ];
        before = [
          "sshd.service"
          "sshd-keygen.service"
        ];
        unitConfig.RequiresMountsFor = [ shared ];
        environment = {
          SHARED = shared;
          HOST_KEY = guest.paths.hostKey;
        };
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = lib.getExe sshSetupScript;
        };
      };

      bench-site = {
        description = "server-bench: copy the site from the store to guest-local disk";
        wantedBy = [ "multi-user.target" ];
        environment = {
          SITE = "${cfg.packages.site}";
          SITE_DIR = siteDir;
          MAP_DIR = mapDir;
        };
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = lib.getExe siteScript;
        };
      };

      bench-redirect-map = {
        description = "server-bench: the redirect map on ${mapUrl}";
        wantedBy = [ "multi-user.target" ];
        requires = [ "bench-site.service" ];
        after = [ "bench-site.service" ];
        environment = {
          MAP_FILE = "${mapDir}/redirects.txt";
          MAP_HOST = guest.mapServer.host;
          MAP_PORT = toString guest.mapServer.port;
        };
        # guest.mapUnit: Type, Restart = "on-failure", CPU and memory accounting.
        serviceConfig =
          hardening
          // guest.mapUnit
          // {
            ExecStart = "${lib.getExe pkgs.nodejs_20} ${./nix/guest/redirect-map-server.mjs}";
            # Stands in for a remote host: its work must not land on the server's cores.
            AllowedCPUs = loadgenCpus;
          };
      };
    }
    // builtins.listToAttrs (map serverUnit (builtins.attrValues impls));

    systemd.tmpfiles.rules = [ "d ${dirOf guest.paths.outDir} 0755 root root -" ];

    environment.etc = {
      "server-bench/size.json".text = builtins.toJSON sizeJson;
      "server-bench/impls.json".text = builtins.toJSON implsJson;
      "server-bench/vm.json".text = builtins.toJSON vmJson;
      "server-bench/site.json".source = "${cfg.packages.site}/site.json";
    };

    environment.systemPackages = [
      cfg.packages.k6test
      pkgs.k6
      pkgs.util-linux
      pkgs.curl
      # bench --profile: k6test runs `perf` from PATH against the server unit (driver/src/profile).
      # The kernel's own package set builds perf from this kernel's source (nixpkgs
      # pkgs/top-level/linux-kernels.nix, packagesFor: perf = callPackage ../os-specific/linux/kernel/perf;
      # its default.nix installs $out/bin/perf), so the tool always matches the guest kernel.
      config.boot.kernelPackages.perf
    ];

    # gosherve and servy log every request at info (as shipped); bound what that costs on disk.
    services.journald.extraConfig = ''
      SystemMaxUse=256M
    '';
  };
}
