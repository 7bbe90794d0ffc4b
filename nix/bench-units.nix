# The benchmark part of a server-bench machine, shared by the VMs (vm.nix) and real NixOS machines
# (nix/host-module.nix, the flake's nixosModules.server-bench): one hardened systemd unit per
# implementation (matrix/impls.json, started by k6test, not at boot) with the size's server cores
# and memory, the site copied to local disk, the redirect map on loopback on the load generator's
# cores, the /etc/server-bench/*.json files k6test reads, and k6test with its tools on PATH.
# The driver <-> machine contract is nix/README.md.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.serverBench;
  size = cfg.size;

  guestPaths = import ./guest-paths.nix; # shared with packages.site's nginx.conf
  # The guest's fixed facts (paths, the map server, the server units' settings and hardening), the
  # same file the Debian guest image is built from (driver/src/vm/image).
  guest = lib.importJSON ../matrix/guest.json;
  siteDir = guestPaths.webroot;
  mapDir = guest.paths.mapDir;
  mapBase = "http://${guest.mapServer.host}:${toString guest.mapServer.port}";
  mapUrl = "${mapBase}/redirects.txt";
  nginxPrefix = guestPaths.nginxPrefix;

  # systemd CPU lists: "0", "0-15", "16-19" for the VMs' contiguous lists; a real machine's list
  # may have gaps ("2,5"), which AllowedCPUs= takes as a comma-separated list.
  cpuRange =
    list:
    let
      first = builtins.head list;
      last = lib.last list;
      contiguous = list == builtins.genList (n: first + n) (builtins.length list);
    in
    if builtins.length list == 1 then
      toString first
    else if contiguous then
      "${toString first}-${toString last}"
    else
      lib.concatMapStringsSep "," toString list;
  serverCpus = cpuRange size.serverCpuList;
  loadgenCpus = cpuRange size.loadgenCpuList;

  impls = import ./impls.nix {
    packages = {
      inherit (cfg.packages)
        tsherve
        tsherve-bun
        gosherve
        gosherve-old
        servy
        ;
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

  siteScript = pkgs.writeShellApplication {
    name = "bench-site";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.findutils
    ];
    text = builtins.readFile ./guest/bench-site.sh;
  };

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
          # The size: the server's cores and memory. k6 runs on the cores after them.
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
  options.serverBench = {
    size = lib.mkOption {
      type = lib.types.attrs;
      description = "One size record from nix/sizes.nix (cpus, memoryMiB, vus, loadgenCpus, serverCpuList, loadgenCpuList, …).";
    };
    packages = lib.mkOption {
      type = lib.types.attrsOf lib.types.package;
      description = "tsherve, tsherve-bun, gosherve, gosherve-old, servy (built for site), k6test and site, built for this machine's system.";
    };
  };

  config = {
    systemd.services = {
      bench-site = {
        description = "server-bench: copy the site from the store to local disk";
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
            ExecStart = "${lib.getExe pkgs.nodejs_20} ${./guest/redirect-map-server.mjs}";
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
  };
}
