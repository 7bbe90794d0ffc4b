# Paths inside the benchmark VM that more than one file needs: packages.site writes them into its
# nginx.conf, vm.nix creates them. One definition, so the two cannot drift apart.
{
  webroot = "/var/lib/bench-site";
  nginxPrefix = "/run/bench-nginx";
}
