# checks.<sys>.vm-boot: boot the size-1 VM (NixOS test driver, needs KVM) and check what the driver
# and k6test rely on: the host key is published, the map server answers and counts, every server
# unit starts on its port, serves the copied site and a redirect, stops, and stays inside its CPUs.
import json

# The driver names the machine after its system.name (bench-1), not the node; take it from the list.
vm = machines[0]
vm.start()
vm.wait_for_unit("multi-user.target")

with subtest("boot units: site copied to local disk, host key published, sshd up"):
    vm.wait_for_unit("bench-site.service")
    vm.succeed("test -s /var/lib/bench-site/index.html")
    vm.succeed("! findmnt --target /var/lib/bench-site --types 9p")
    vm.succeed("test -s /tmp/shared/host_ed25519_key.pub")
    vm.succeed("cmp /tmp/shared/host_ed25519_key.pub /etc/ssh/ssh_host_ed25519_key.pub")
    vm.wait_for_unit("sshd.service")
    vm.wait_for_open_port(22)

with subtest("redirect map server: serves the map and counts fetches"):
    vm.wait_for_unit("bench-redirect-map.service")
    vm.wait_for_open_port(8090)
    vm.succeed("curl -sf -X POST http://127.0.0.1:8090/fetches/reset")
    vm.succeed("curl -sf 'http://127.0.0.1:8090/redirects.txt?cachebust=1' | grep -q ' https://'")
    fetches = json.loads(vm.succeed("curl -sf http://127.0.0.1:8090/fetches"))
    assert fetches == {"fetches": 1}, f"map server counted {fetches}"

size = json.loads(vm.succeed("cat /etc/server-bench/size.json"))
impls = json.loads(vm.succeed("cat /etc/server-bench/impls.json"))
site = json.loads(vm.succeed("cat /etc/server-bench/site.json"))
alias = site["redirects"][0]["alias"]
target = site["redirects"][0]["target"]
assert sorted(i["name"] for i in impls) == ["gosherve", "gosherve-old", "nginx", "servy", "tsherve"], impls

for impl in impls:
    unit = impl["unit"]
    with subtest(f"{unit}: starts, serves the site and a redirect, is confined, stops"):
        vm.succeed(f"systemctl start {unit}.service")
        vm.wait_for_open_port(impl["sitePort"])
        vm.succeed("curl -sf http://127.0.0.1:8080/ | grep -qi '<html'")
        location = vm.succeed(
            f"curl -s -o /dev/null -w '%{{redirect_url}}' http://127.0.0.1:8080/{alias}"
        ).strip()
        assert location == target, f"{unit}: /{alias} redirected to {location!r}, not {target!r}"
        if impl["metricsPort"] is not None:
            vm.succeed(
                f"curl -sf http://127.0.0.1:{impl['metricsPort']}/metrics | grep -q '^{impl['metricPrefix']}requests_total'"
            )
        cpus = vm.succeed(f"systemctl show -P AllowedCPUs {unit}.service").strip()
        expected = "0" if size["cpus"] == 1 else f"0-{size['cpus'] - 1}"
        assert cpus == expected, f"{unit}: AllowedCPUs={cpus!r}, expected {expected!r}"
        vm.succeed(f"systemctl stop {unit}.service")
        vm.wait_for_closed_port(impl["sitePort"])

with subtest("k6test is installed with k6"):
    vm.succeed("command -v k6test")
    vm.succeed("k6 version")
