# Paths inside the benchmark VM that more than one file needs: packages.site writes them into its
# nginx.conf, vm.nix creates them. Read from matrix/guest.json, which the Debian guest image
# (driver/src/vm/image) reads too, so no flavour can drift from the other.
let
  guest = builtins.fromJSON (builtins.readFile ../matrix/guest.json);
in
{
  inherit (guest.paths) webroot nginxPrefix;
}
