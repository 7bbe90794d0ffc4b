# bench-site.service: copy the generated site and its redirect map from the store to guest-local
# disk at boot, so the servers read the VM's own disk and page cache, not the host store over 9p.
# Environment (set by vm.nix): SITE (store path with webroot/ and redirects.txt), SITE_DIR, MAP_DIR.
copy_tree() {
  local from=$1 to=$2
  rm -rf "$to.tmp"
  mkdir -p "$to.tmp"
  # No store modes: files 0644 and directories 0755, readable by the servers' dynamic users.
  cp -R --no-preserve=mode,ownership "$from/." "$to.tmp/"
  chmod -R u=rwX,go=rX "$to.tmp"
  rm -rf "$to"
  mv "$to.tmp" "$to"
}

copy_tree "$SITE/webroot" "$SITE_DIR"
mkdir -p "$MAP_DIR"
install -m 0644 "$SITE/redirects.txt" "$MAP_DIR/redirects.txt"
echo "bench-site: $(find "$SITE_DIR" -type f | wc -l) files, $(du -sh "$SITE_DIR" | cut -f1) in $SITE_DIR"
