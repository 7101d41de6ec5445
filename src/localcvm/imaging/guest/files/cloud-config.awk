# The few #cloud-config keys the tiny guest honours, printed one per line for seed.sh:
#   key <openssh public key>     (ssh_authorized_keys: a list of strings)
#   password <plaintext>         (password: X, or a root:X line under chpasswd:)
#   runcmd <shell command>       (runcmd: a list of strings; list-form commands are skipped)
# Anything else in the file (packages, write_files, users, ...) is ignored.
function unq(v) {
    sub(/^[ \t]+/, "", v); sub(/[ \t\r]+$/, "", v)
    if (v ~ /^".*"$/ || v ~ /^'.*'$/) v = substr(v, 2, length(v) - 2)
    return v
}
/^[^ \t#-]/ { section = "" }
/^ssh_authorized_keys:/ { section = "key"; next }
/^runcmd:/ { section = "runcmd"; next }
/^chpasswd:/ { section = "chpasswd"; next }
/^password:/ { v = $0; sub(/^password:/, "", v); print "password " unq(v); next }
section == "chpasswd" && /^[ \t]+(- )?[ \t]*root:/ {
    v = $0; sub(/^[ \t]+(- )?[ \t]*root:/, "", v); print "password " unq(v); next
}
(section == "key" || section == "runcmd") && /^[ \t]*-[ \t]/ {
    v = $0; sub(/^[ \t]*-[ \t]+/, "", v); v = unq(v)
    if (v !~ /^\[/) print section " " v
}
