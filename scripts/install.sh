#!/bin/sh
# install.sh installs or upgrades kedge as a service, as a server or as an
# agent, under systemd or OpenRC. docs/install.md explains each case.
#
#   INSTALL_KEDGE_BIN=./kedge sh install.sh                     # a server
#   INSTALL_KEDGE_BIN=./kedge KEDGE_URL=https://10.0.0.1:6443 \
#     KEDGE_TOKEN=K10...::server:... sh install.sh              # an agent
#   INSTALL_KEDGE_URL=https://host/release sh install.sh server --disable traefik
#
# Arguments after the script name (or INSTALL_KEDGE_EXEC) are kedge's
# command line: a command (server or agent) and its flags, or only flags.
#
# Variables read by this script (none of them reaches the service):
#   INSTALL_KEDGE_BIN          a kedge binary on this machine to install (the
#                              air-gapped way); must be an executable file
#   INSTALL_KEDGE_URL          else: a release directory (file://, http(s)://)
#                              holding kedge-amd64, kedge-arm64, kedge-armv7
#                              and SHA256SUMS; the download must match its
#                              line in SHA256SUMS. With neither set, an
#                              already installed <bin dir>/kedge is kept.
#   INSTALL_KEDGE_EXEC         kedge's command line, e.g. "server --disable
#                              traefik"; the script's arguments are appended.
#                              Without a command: server, or agent when
#                              KEDGE_URL is set.
#   INSTALL_KEDGE_NAME         service name kedge-<name>; default kedge for a
#                              server, kedge-agent for an agent
#   INSTALL_KEDGE_BIN_DIR      where kedge, its symlinks and the wrapper scripts
#                              go; default /usr/local/bin, or /opt/bin when
#                              /usr/local/bin is read-only
#   INSTALL_KEDGE_SYSTEMD_DIR  where the systemd unit and its env file go;
#                              default /etc/systemd/system. Setting it selects
#                              systemd even where OpenRC is found.
#   INSTALL_KEDGE_SYMLINK      unset: symlink kubectl, crictl and ctr to kedge
#                              unless such a command is already on PATH;
#                              "force": always; "skip": never
#   INSTALL_KEDGE_SKIP_ENABLE  "true": do not enable the service at boot
#   INSTALL_KEDGE_SKIP_START   "true": do not start or restart the service.
#                              With both SKIP variables no systemctl, rc-update
#                              or rc-service command runs (image/chroot builds).
#
# Variables passed on to kedge through the service's env file (mode 0600):
#   every KEDGE_* variable (KEDGE_URL, KEDGE_TOKEN, KEDGE_TOKEN_FILE,
#   KEDGE_DATA_DIR, ...) and HTTP_PROXY, HTTPS_PROXY, NO_PROXY, http_proxy,
#   https_proxy, no_proxy. KEDGE_URL must be https://; an agent needs
#   KEDGE_TOKEN or KEDGE_TOKEN_FILE (or --token/--token-file).
#
# Files written (<service> is kedge, kedge-agent or kedge-<name>):
#   <bin dir>/kedge, and kubectl, crictl, ctr -> <bin dir>/kedge
#   <bin dir>/kedge-killall.sh, <bin dir>/<service>-uninstall.sh
#   systemd: <systemd dir>/<service>.service and <service>.service.env
#   OpenRC:  /etc/init.d/<service>, /etc/init.d/<service>.env,
#            /etc/logrotate.d/<service>; the service logs to /var/log/<service>.log
#
# Running it again with the same binary and settings changes nothing and
# restarts nothing; a new binary or new settings restart the service
# (KillMode=process: the pods keep running).
set -eu

info() { echo "[INFO]  $*"; }
warn() { echo "[WARN]  $*" >&2; }
fatal() {
	echo "[ERROR] $*" >&2
	exit 1
}

is_true() {
	case "${1:-}" in
	true | yes | 1) return 0 ;;
	esac
	return 1
}

# shq quotes a value for sh.
shq() {
	if [ -z "$1" ]; then
		printf "''"
		return
	fi
	printf '%s' "$1" | sed "s/'/'\\\\''/g; 1s/^/'/; \$s/\$/'/"
}

# shq_word quotes only what needs it, so generated command lines read
# like the ones an operator would type.
shq_word() {
	case "$1" in
	"" | *[!A-Za-z0-9_./:=,@+%-]*) shq "$1" ;;
	*) printf '%s' "$1" ;;
	esac
}

# dq double-quotes a value for an env file. sh and systemd's EnvironmentFile
# parser agree on this form (a backslash before \ " $ ` only), not on
# sh's '...'\''...' concatenation.
dq() {
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/["$`]/\\&/g')"
}

# sd_quote quotes one ExecStart word for systemd: % and $ are expanded by
# systemd even inside quotes, backslash and " only inside double quotes.
sd_quote() {
	sd_v=$(printf '%s' "$1" | sed -e 's/%/%%/g' -e 's/\$/$$/g')
	case "$1" in
	"" | *[!A-Za-z0-9_./:=,@+%-]*)
		sd_v=$(printf '%s' "$sd_v" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
		printf '"%s"' "$sd_v"
		;;
	*) printf '%s' "$sd_v" ;;
	esac
}

# split_exec splits INSTALL_KEDGE_EXEC at blanks, with '...' and "..."
# grouping (no backslash escapes), into words quoted for eval. Parsing it
# here rather than eval'ing it keeps $(...) and ; in it from running.
split_exec() {
	printf '%s' "$1" | awk '
	function emit(   out, j, ch) {
		if (!inword) return
		out = ""
		for (j = 1; j <= length(w); j++) {
			ch = substr(w, j, 1)
			out = out (ch == "\047" ? "\047\\\047\047" : ch)
		}
		printf " \047%s\047", out
		w = ""
		inword = 0
	}
	{ s = (NR > 1 ? s " " : "") $0 }
	END {
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (q != "") {
				if (c == q) q = ""; else w = w c
			} else if (c == "\047" || c == "\"") {
				q = c
				inword = 1
			} else if (c == " " || c == "\t") {
				emit()
			} else {
				w = w c
				inword = 1
			}
		}
		if (q != "") exit 1
		emit()
	}'
}

# --- the command line -------------------------------------------------------

# parse_command sets cmd (server or agent) and cmd_args (its flags, quoted
# for eval) from INSTALL_KEDGE_EXEC and the script's arguments.
parse_command() {
	exec_words=$(split_exec "${INSTALL_KEDGE_EXEC:-}") ||
		fatal "INSTALL_KEDGE_EXEC has an unbalanced quote: ${INSTALL_KEDGE_EXEC:-}"
	arg_words=""
	for a in "$@"; do
		arg_words="$arg_words $(shq "$a")"
	done
	eval "set -- $exec_words $arg_words"
	case "${1:-}" in
	server | agent)
		cmd=$1
		shift
		;;
	"" | -*)
		if [ -n "${KEDGE_URL:-}" ]; then cmd=agent; else cmd=server; fi
		;;
	*) fatal "unknown kedge command '$1' in INSTALL_KEDGE_EXEC or the arguments: want server, agent, or only flags" ;;
	esac
	cmd_args=""
	for a in "$@"; do
		case "$a" in
		*'
'*) fatal "a kedge argument contains a newline: $(shq "$a")" ;;
		esac
		cmd_args="$cmd_args $(shq_word "$a")"
	done
}

# flag_value prints the value of --NAME (or -SHORT) in cmd_args, and
# fails when the flag is absent.
flag_value() {
	fv_long=$1 fv_short=${2:-$1}
	eval "set -- $cmd_args"
	fv_found=1
	while [ $# -gt 0 ]; do
		case "$1" in
		"--$fv_long="*)
			fv_value=${1#*=}
			fv_found=0
			;;
		"--$fv_long" | "-$fv_short")
			fv_value=${2:-}
			fv_found=0
			[ $# -gt 1 ] && shift
			;;
		esac
		shift
	done
	[ "$fv_found" = 0 ] && printf '%s' "$fv_value"
	return "$fv_found"
}

has_flag() { flag_value "$1" "$2" >/dev/null; }

check_https() {
	case "$2" in
	https://?*) ;;
	*) fatal "$1 must be an https:// URL of a kedge server, e.g. https://10.0.0.1:6443 (got '$2')" ;;
	esac
}

# check_mode fails before anything is written when the command line cannot
# start: a server given an agent's KEDGE_URL, an agent without a server or
# without a token.
check_mode() {
	[ -n "${KEDGE_URL:-}" ] && check_https KEDGE_URL "$KEDGE_URL"
	if [ "$cmd" = server ]; then
		[ -z "${KEDGE_URL:-}" ] || fatal "KEDGE_URL is set, which makes this an agent install, but the command is 'server'; unset KEDGE_URL for a server"
		return
	fi
	if server_flag=$(flag_value server s); then
		check_https --server "$server_flag"
	elif [ -z "${KEDGE_URL:-}" ]; then
		fatal "an agent needs KEDGE_URL=https://<server>:6443 (or --server)"
	fi
	if [ -z "${KEDGE_TOKEN:-}" ] && [ -z "${KEDGE_TOKEN_FILE:-}" ]; then
		has_flag token t || has_flag token-file "" ||
			fatal "an agent needs KEDGE_TOKEN or KEDGE_TOKEN_FILE: the content of the server's <data-dir>/server/token"
		warn "the join token is on the command line, which the service file shows to every user; KEDGE_TOKEN keeps it in the 0600 env file"
	fi
}

set_service() {
	if [ -n "${INSTALL_KEDGE_NAME:-}" ]; then
		case "$INSTALL_KEDGE_NAME" in
		*[!A-Za-z0-9_.-]* | [.-]*) fatal "INSTALL_KEDGE_NAME '$INSTALL_KEDGE_NAME': use letters, digits, '.', '_' and '-' only" ;;
		esac
		service="kedge-$INSTALL_KEDGE_NAME"
	elif [ "$cmd" = agent ]; then
		service=kedge-agent
	else
		service=kedge
	fi
}

# set_dirs works out the node's data and run dirs the way kedge does
# (flag, else env, else config file, else default), for the wrappers.
set_dirs() {
	data_dir=$(flag_value data-dir d) || data_dir=${KEDGE_DATA_DIR:-$(config_value data-dir)}
	run_dir=$(flag_value run-dir "") || run_dir=${KEDGE_RUN_DIR:-$(config_value run-dir)}
	data_dir=${data_dir:-/var/lib/kedge}
	run_dir=${run_dir:-/run/kedge}
	for d in "$data_dir" "$run_dir"; do
		case "$d" in
		/?*) ;;
		*) fatal "the data and run dirs must be absolute paths (got '$d')" ;;
		esac
	done
}

# config_value reads a top-level "key: value" from kedge's config file.
config_value() {
	cv_file=${KEDGE_CONFIG:-/etc/kedge/config.yaml}
	[ -f "$cv_file" ] || return 0
	sed -n "s/^$1:[[:space:]]*//p" "$cv_file" | tail -n 1 |
		sed -e 's/[[:space:]]*#.*$//' -e 's/[[:space:]]*$//' -e "s/^\"\(.*\)\"$/\1/" -e "s/^'\(.*\)'$/\1/"
}

# --- the machine ------------------------------------------------------------

set_arch() {
	machine=$(uname -m)
	case "$machine" in
	x86_64 | amd64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	# armv8l is a 32-bit ARM kernel on an ARMv8 CPU: it runs armv7 code.
	armv7* | armv8l) arch=armv7 ;;
	armv6* | armv5*) fatal "$machine (uname -m) is not supported: kedge is built for armv7 and newer ARM CPUs" ;;
	*) fatal "unsupported architecture '$machine' (uname -m): kedge is built for x86_64 (amd64), aarch64 (arm64) and armv7" ;;
	esac
}

set_init() {
	if [ -n "${INSTALL_KEDGE_SYSTEMD_DIR:-}" ]; then
		init=systemd
	elif [ -x /sbin/openrc-run ]; then
		init=openrc
	elif [ -d /run/systemd/system ] || command -v systemctl >/dev/null 2>&1; then
		init=systemd
	else
		fatal "found neither OpenRC (/sbin/openrc-run) nor systemd, so no service can be set up. Run kedge by hand as root instead, from your init's start-up script: $bin_dir/kedge $cmd$cmd_args (set INSTALL_KEDGE_SYSTEMD_DIR to write a systemd unit anyway)"
	fi
	systemd_dir=${INSTALL_KEDGE_SYSTEMD_DIR:-/etc/systemd/system}
}

# writable creates dir if needed and proves a file can be made in it.
writable() {
	mkdir -p "$1" 2>/dev/null || return 1
	w_probe="$1/.kedge-install-probe.$$"
	(: >"$w_probe") 2>/dev/null || return 1
	rm -f "$w_probe"
}

set_bin_dir() {
	if [ -n "${INSTALL_KEDGE_BIN_DIR:-}" ]; then
		bin_dir=$INSTALL_KEDGE_BIN_DIR
		case "$bin_dir" in
		/*) ;;
		*) fatal "INSTALL_KEDGE_BIN_DIR must be an absolute path (got '$bin_dir')" ;;
		esac
		writable "$bin_dir" || fatal "cannot write to the bin dir $bin_dir (read-only, or not root?); set INSTALL_KEDGE_BIN_DIR to a writable directory"
		return
	fi
	bin_dir=/usr/local/bin
	writable "$bin_dir" && return
	bin_dir=/opt/bin
	writable "$bin_dir" || fatal "cannot write to /usr/local/bin or /opt/bin (read-only, or not root?); set INSTALL_KEDGE_BIN_DIR to a writable directory"
	info "/usr/local/bin is read-only: installing to /opt/bin"
}

check_service_dirs() {
	if [ "$init" = systemd ]; then
		writable "$systemd_dir" || fatal "cannot write to the systemd dir $systemd_dir (not root?)"
	else
		writable /etc/init.d || fatal "cannot write to /etc/init.d (not root?)"
		writable /etc/logrotate.d || fatal "cannot write to /etc/logrotate.d (not root?)"
	fi
	if [ "$(id -u)" -ne 0 ] && ! { is_true "${INSTALL_KEDGE_SKIP_ENABLE:-}" && is_true "${INSTALL_KEDGE_SKIP_START:-}"; }; then
		fatal "run as root to enable and start the service (or set INSTALL_KEDGE_SKIP_ENABLE=true and INSTALL_KEDGE_SKIP_START=true to only write the files)"
	fi
}

# --- the binary -------------------------------------------------------------

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | awk '{print $1}'
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | awk '{print $1}'
	else
		fatal "need sha256sum or shasum to verify the binary"
	fi
}

download() {
	case "$1" in
	file://*) cp "${1#file://}" "$2" ;;
	*)
		if command -v curl >/dev/null 2>&1; then
			curl -fsSL -o "$2" "$1"
		elif command -v wget >/dev/null 2>&1; then
			wget -q -O "$2" "$1"
		else
			fatal "need curl or wget to download $1 (or copy the binary here and set INSTALL_KEDGE_BIN)"
		fi
		;;
	esac
}

# fetch_binary sets src to the verified binary to install. Nothing outside
# the work dir is written before that, so a bad download changes nothing.
fetch_binary() {
	if [ -n "${INSTALL_KEDGE_BIN:-}" ] && [ -n "${INSTALL_KEDGE_URL:-}" ]; then
		fatal "set INSTALL_KEDGE_BIN or INSTALL_KEDGE_URL, not both"
	fi
	if [ -n "${INSTALL_KEDGE_BIN:-}" ]; then
		[ -f "$INSTALL_KEDGE_BIN" ] || fatal "INSTALL_KEDGE_BIN=$INSTALL_KEDGE_BIN is not a file"
		[ -x "$INSTALL_KEDGE_BIN" ] || fatal "INSTALL_KEDGE_BIN=$INSTALL_KEDGE_BIN is not executable (chmod +x it)"
		src=$INSTALL_KEDGE_BIN
	elif [ -n "${INSTALL_KEDGE_URL:-}" ]; then
		fetch_release "${INSTALL_KEDGE_URL%/}"
	elif [ -x "$bin_dir/kedge" ]; then
		info "neither INSTALL_KEDGE_BIN nor INSTALL_KEDGE_URL set: keeping the installed $bin_dir/kedge"
		src=$bin_dir/kedge
	else
		fatal "set INSTALL_KEDGE_BIN to a kedge binary on this machine, or INSTALL_KEDGE_URL to a release directory"
	fi
}

fetch_release() {
	info "downloading $1/kedge-$arch"
	download "$1/SHA256SUMS" "$work/SHA256SUMS" || fatal "downloading $1/SHA256SUMS failed"
	want=$(awk -v f="kedge-$arch" '$2 == f || $2 == "*" f { print $1; exit }' "$work/SHA256SUMS")
	[ -n "$want" ] || fatal "$1/SHA256SUMS has no line for kedge-$arch"
	download "$1/kedge-$arch" "$work/kedge" || fatal "downloading $1/kedge-$arch failed"
	got=$(sha256 "$work/kedge")
	[ "$got" = "$want" ] ||
		fatal "checksum mismatch for kedge-$arch: SHA256SUMS says $want, the download is $got; nothing was installed"
	info "verified kedge-$arch against SHA256SUMS"
	src=$work/kedge
}

# install_binary replaces <bin dir>/kedge only when its content differs, by
# a rename in the same directory: a running kedge keeps its old file and
# nothing ever sees a half-written binary.
install_binary() {
	new_sum=$(sha256 "$src")
	if [ -f "$bin_dir/kedge" ] && [ "$(sha256 "$bin_dir/kedge")" = "$new_sum" ]; then
		info "kedge binary unchanged ($bin_dir/kedge)"
		return
	fi
	[ "$src" = "$work/kedge" ] || cp "$src" "$work/kedge"
	chmod 755 "$work/kedge"
	mv -f "$work/kedge" "$bin_dir/kedge"
	info "installed kedge binary $bin_dir/kedge (sha256 $new_sum)"
	changed=1
}

# --- files ------------------------------------------------------------------

# update_file installs the content of $3 as $1 with mode $2 unless $1 has it
# already; it sets file_changed. The temporary copy sits beside $1 so the
# rename is atomic, and is created under umask 077 so a secret never shows.
update_file() {
	file_changed=0
	if [ -f "$1" ] && cmp -s "$3" "$1"; then
		chmod "$2" "$1"
		info "$4 unchanged ($1)"
		return
	fi
	uf_tmp="$1.kedge-new.$$"
	(umask 077 && cp "$3" "$uf_tmp") || fatal "cannot write $uf_tmp"
	if ! { chmod "$2" "$uf_tmp" && mv -f "$uf_tmp" "$1"; }; then
		rm -f "$uf_tmp"
		fatal "cannot write $1"
	fi
	info "wrote $4 ($1)"
	file_changed=1
}

# env_file_content lists every KEDGE_* and proxy variable given to the
# installer, sorted so the same environment gives the same file.
env_file_content() {
	names=$({
		env | sed -n 's/^\(KEDGE_[A-Za-z0-9_]*\)=.*/\1/p'
		echo HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy | tr ' ' '\n'
	} | sort -u)
	for n in $names; do
		eval "n_set=\${$n+x}"
		[ -n "$n_set" ] || continue
		n_value=""
		eval "n_value=\$$n"
		printf '%s=%s\n' "$n" "$(dq "$n_value")"
	done
}

# dirs_line is the comment in the service file that tells kedge-killall.sh
# which data and run dirs `kedge killall` must clean for this service.
dirs_line() {
	printf '# kedge-dirs: --data-dir %s --run-dir %s' "$(shq "$data_dir")" "$(shq "$run_dir")"
}

systemd_unit() {
	cat <<EOF
# kedge $cmd, written by kedge's install.sh (docs/install.md); rerun it to change.
$(dirs_line)
[Unit]
Description=kedge: lightweight Kubernetes ($cmd)
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-$systemd_dir/$service.service.env
# Only kedge is stopped: containerd's shims and the pods outlive a restart.
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
EOF
	printf 'ExecStart=%s \\\n\t%s' "$(sd_quote "$bin_dir/kedge")" "$cmd"
	with_args sd_words
	printf '\n'
}

# with_args runs its arguments as a command, with kedge's flags appended.
with_args() {
	eval "set -- \"\$@\" $cmd_args"
	"$@"
}

sd_words() {
	for a in "$@"; do
		printf ' \\\n\t%s' "$(sd_quote "$a")"
	done
}

sh_words() {
	for a in "$@"; do
		printf ' %s' "$(shq_word "$a")"
	done
}

# openrc_args is the command line for supervise-daemon, which evals it:
# quoted for sh, then escaped for the double quotes around it.
openrc_args() {
	dq "$cmd$(with_args sh_words)"
}

openrc_script() {
	cat <<EOF
#!/sbin/openrc-run
# kedge $cmd, written by kedge's install.sh (docs/install.md); rerun it to change.
$(dirs_line)

description="kedge: lightweight Kubernetes ($cmd)"
supervisor=supervise-daemon
command=$(shq_word "$bin_dir/kedge")
command_args=$(openrc_args)
output_log=/var/log/$service.log
error_log=/var/log/$service.log
pidfile=/var/run/$service.pid
respawn_delay=5
respawn_max=0

depend() {
	after network-online
	want cgroups
}

start_pre() {
	modprobe br_netfilter 2>/dev/null || true
	modprobe overlay 2>/dev/null || true
	# The systemd unit's limits, one per call: dash's ulimit takes one.
	# They are inherited by supervise-daemon and kedge, started next.
	ulimit -n 1048576 2>/dev/null || true
	ulimit -c unlimited 2>/dev/null || true
}

set -a
if [ -f /etc/init.d/$service.env ]; then . /etc/init.d/$service.env; fi
set +a
EOF
}

logrotate_snippet() {
	cat <<EOF
/var/log/$service.log {
	weekly
	rotate 4
	maxsize 50M
	compress
	missingok
	notifempty
	copytruncate
}
EOF
}

# install_service writes the service file and env file; either changing
# means the running kedge must restart to see it.
install_service() {
	env_file_content >"$work/env"
	if [ "$init" = systemd ]; then
		unit_file=$systemd_dir/$service.service
		env_file=$unit_file.env
		systemd_unit >"$work/unit"
	else
		unit_file=/etc/init.d/$service
		env_file=/etc/init.d/$service.env
		openrc_script >"$work/unit"
		logrotate_snippet >"$work/logrotate"
		update_file "/etc/logrotate.d/$service" 644 "$work/logrotate" "logrotate snippet"
	fi
	update_file "$env_file" 600 "$work/env" "env file"
	[ "$file_changed" = 0 ] || changed=1
	if [ "$init" = systemd ]; then unit_mode=644; else unit_mode=755; fi
	update_file "$unit_file" "$unit_mode" "$work/unit" "unit"
	unit_changed=$file_changed
	[ "$file_changed" = 0 ] || changed=1
}

# --- symlinks ---------------------------------------------------------------

points_at_kedge() {
	[ -L "$1" ] || return 1
	pk_target=$(readlink "$1")
	[ "$pk_target" = "$bin_dir/kedge" ] || [ "$pk_target" = kedge ]
}

# install_symlinks makes kubectl, crictl and ctr run kedge, which picks the
# tool by the name it was called with. A tool already on PATH is the
# operator's and is kept unless INSTALL_KEDGE_SYMLINK=force.
install_symlinks() {
	mode=${INSTALL_KEDGE_SYMLINK:-}
	if [ "$mode" = skip ]; then
		info "INSTALL_KEDGE_SYMLINK=skip: no kubectl, crictl or ctr symlinks"
		return
	fi
	for tool in kubectl crictl ctr; do
		link=$bin_dir/$tool
		if points_at_kedge "$link"; then
			continue
		elif [ "$mode" = force ]; then
			[ -d "$link" ] && ! [ -L "$link" ] && fatal "$link is a directory"
			ln -sf "$bin_dir/kedge" "$link"
			info "symlinked $link -> $bin_dir/kedge"
		elif [ -e "$link" ] || [ -L "$link" ]; then
			info "$tool: $link exists, not replacing it with a symlink to kedge (INSTALL_KEDGE_SYMLINK=force would)"
		elif found=$(command -v "$tool" 2>/dev/null); then
			info "$tool: $found is already on PATH, not symlinking $link to kedge (INSTALL_KEDGE_SYMLINK=force would)"
		else
			ln -s "$bin_dir/kedge" "$link"
			info "symlinked $link -> $bin_dir/kedge"
		fi
	done
}

# --- wrapper scripts --------------------------------------------------------

# wrapper_header assigns what the wrappers need to know about this install.
wrapper_header() {
	printf '#!/bin/sh\n'
	printf '# %s\n' "$1"
	printf "# Written by kedge's install.sh (docs/install.md); an install rewrites it.\n"
	printf 'bin_dir=%s\ninit=%s\nsystemd_dir=%s\n' "$(shq "$bin_dir")" "$init" "$(shq "$systemd_dir")"
}

killall_script() {
	wrapper_header "Stops kedge's services (all, or those named) and runs \`kedge killall\` for each: it kills the containers and removes their mounts, links and iptables rules."
	cat <<'EOF'
set -u
[ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 1; }

service_file() {
	if [ "$init" = systemd ]; then echo "$systemd_dir/$1.service"; else echo "/etc/init.d/$1"; fi
}

# services lists the named services, else every one install.sh set up
# (their files carry a "# kedge-dirs:" line).
services() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@"
		return
	fi
	if [ "$init" = systemd ]; then
		set -- "$systemd_dir"/kedge.service "$systemd_dir"/kedge-*.service
	else
		set -- /etc/init.d/kedge /etc/init.d/kedge-*
	fi
	for f in "$@"; do
		case "$f" in *.env) continue ;; esac
		[ -f "$f" ] && grep -q '^# kedge-dirs: ' "$f" && basename "$f" .service
	done
	return 0
}

stop_service() {
	echo "stopping $1"
	if [ "$init" = systemd ]; then systemctl stop "$1"; else rc-service --ifstarted "$1" stop; fi
}

rc=0
list=$(services "$@")
for s in $list; do
	stop_service "$s" || rc=1
done
cleaned=0
for s in $list; do
	f=$(service_file "$s")
	dirs=""
	[ -f "$f" ] && dirs=$(sed -n 's/^# kedge-dirs: //p' "$f" | head -n 1)
	eval "set -- $dirs"
	echo "kedge killall $* (for $s)"
	"$bin_dir/kedge" killall "$@" || rc=1
	cleaned=1
done
if [ "$cleaned" = 0 ]; then
	echo "no kedge service found; kedge killall for the default dirs"
	"$bin_dir/kedge" killall || rc=1
fi
exit "$rc"
EOF
}

uninstall_script() {
	wrapper_header "Removes the kedge service $service: it stops it, cleans up with kedge-killall.sh and deletes its files and the node's data."
	printf 'service=%s\ndata_dir=%s\nrun_dir=%s\ndirs_line=%s\n' "$service" "$(shq "$data_dir")" "$(shq "$run_dir")" "$(shq "$(dirs_line)")"
	cat <<'EOF'
set -u
[ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 1; }
rc=0

if [ "$init" = systemd ]; then
	unit=$systemd_dir/$service.service
	own_files="$unit $unit.env"
else
	unit=/etc/init.d/$service
	own_files="$unit $unit.env /etc/logrotate.d/$service /var/log/$service.log /var/log/$service.log.*"
fi

if ! "$bin_dir/kedge-killall.sh" "$service"; then
	echo "warning: kedge-killall.sh failed; removing the files anyway" >&2
	rc=1
fi

if [ "$init" = systemd ]; then
	systemctl disable "$service" >/dev/null 2>&1 || true
	# shellcheck disable=SC2086
	rm -f $own_files
	systemctl daemon-reload >/dev/null 2>&1 || true
	systemctl reset-failed "$service" >/dev/null 2>&1 || true
else
	rc-update delete "$service" default >/dev/null 2>&1 || true
	# shellcheck disable=SC2086
	rm -f $own_files
fi
echo "removed the $service service ($own_files)"

# other_services lists the other kedge services still set up; dirs_users
# those among them running on this service's data and run dirs.
other_services() {
	if [ "$init" = systemd ]; then
		set -- "$systemd_dir"/kedge.service "$systemd_dir"/kedge-*.service
	else
		set -- /etc/init.d/kedge /etc/init.d/kedge-*
	fi
	for f in "$@"; do
		case "$f" in *.env) continue ;; esac
		[ -f "$f" ] && grep -q '^# kedge-dirs: ' "$f" && echo "$f"
	done
	return 0
}

# remove_dir deletes a directory unless something is still mounted below
# it: rm -rf would delete that filesystem's content too.
remove_dir() {
	[ -e "$1" ] || return 0
	case "$1" in / | "") return 0 ;; esac
	escaped=$(printf '%s/' "$1" | sed 's/ /\\040/g')
	if awk -v d="$escaped" 'index($2, d) == 1 { print "  still mounted: " $2; found = 1 } END { exit !found }' /proc/self/mounts; then
		echo "warning: not removing $1: unmount the above first" >&2
		return 1
	fi
	rm -rf "$1" && echo "removed $1"
}

others=$(other_services)
if [ -n "$others" ]; then
	# The binary, its symlinks, kedge-killall.sh and /etc/kedge serve them.
	echo "other kedge services remain ($(printf '%s' "$others" | tr '\n' ' ')): keeping $bin_dir/kedge, its symlinks and /etc/kedge"
	# shellcheck disable=SC2086
	if grep -qxF "$dirs_line" $others; then
		echo "keeping $data_dir and $run_dir: another service uses them"
	else
		remove_dir "$data_dir" || rc=1
		remove_dir "$run_dir" || rc=1
	fi
	rm -f "$bin_dir/$service-uninstall.sh"
	exit "$rc"
fi

for tool in kubectl crictl ctr; do
	link=$bin_dir/$tool
	[ -L "$link" ] || continue
	case "$(readlink "$link")" in
	"$bin_dir/kedge" | kedge) rm -f "$link" && echo "removed $link" ;;
	esac
done
remove_dir /etc/kedge || rc=1
remove_dir "$data_dir" || rc=1
remove_dir "$run_dir" || rc=1
rm -f "$bin_dir/kedge" "$bin_dir/kedge-killall.sh" "$bin_dir/$service-uninstall.sh"
echo "removed $bin_dir/kedge, $bin_dir/kedge-killall.sh and $bin_dir/$service-uninstall.sh"
exit "$rc"
EOF
}

install_wrappers() {
	killall_script >"$work/killall"
	update_file "$bin_dir/kedge-killall.sh" 755 "$work/killall" "killall script"
	uninstall_script >"$work/uninstall"
	update_file "$bin_dir/$service-uninstall.sh" 755 "$work/uninstall" "uninstall script"
}

# --- the service ------------------------------------------------------------

# check_config shows what `kedge check-config` finds wrong with this
# machine. It only warns: the operator decides, and a node may run without
# what a failed check covers (the memory cgroup on a board, say).
check_config() {
	if cc_out=$("$bin_dir/kedge" check-config 2>&1); then
		return 0
	fi
	cc_fails=$(printf '%s\n' "$cc_out" | grep fail || true)
	if [ -n "$cc_fails" ]; then
		warn "kedge check-config reports failures (starting anyway):"
		printf '%s\n' "$cc_fails" | sed 's/^/          /' >&2
	else
		warn "kedge check-config failed; run '$bin_dir/kedge check-config' to see why (starting anyway)"
	fi
}

service_active() {
	if [ "$init" = systemd ]; then
		systemctl is-active --quiet "$service"
	else
		rc-service "$service" status >/dev/null 2>&1
	fi
}

enable_service() {
	if [ "$init" = systemd ]; then
		systemctl is-enabled --quiet "$service" 2>/dev/null && return
		systemctl enable "$service" >/dev/null 2>&1 || fatal "systemctl enable $service failed"
	else
		rc-update show default 2>/dev/null | awk -v s="$service" '$1 == s { f = 1 } END { exit !f }' && return
		rc-update add "$service" default >/dev/null || fatal "rc-update add $service default failed"
	fi
	info "enabled $service at boot"
}

# start_service restarts kedge only when something changed (or starts it
# when it is not running), so rerunning the installer leaves it alone.
# check-config runs only before a start: against a running kedge its port
# checks would fail.
start_service() {
	if service_active; then
		if [ "$changed" = 0 ]; then
			info "$service is running and nothing changed: not restarting it"
			return
		fi
		verb=restart
		info "restarting $service"
	else
		check_config
		verb=start
		info "starting $service"
	fi
	if [ "$init" = systemd ]; then
		systemctl "$verb" "$service" || fatal "systemctl $verb $service failed; see journalctl -u $service"
	else
		rc-service "$service" "$verb" || fatal "rc-service $service $verb failed; see /var/log/$service.log"
	fi
}

manage_service() {
	skip_enable=0 skip_start=0
	is_true "${INSTALL_KEDGE_SKIP_ENABLE:-}" && skip_enable=1
	is_true "${INSTALL_KEDGE_SKIP_START:-}" && skip_start=1
	if [ "$skip_enable" = 1 ] && [ "$skip_start" = 1 ]; then
		info "INSTALL_KEDGE_SKIP_ENABLE and INSTALL_KEDGE_SKIP_START: not touching the service manager"
		return
	fi
	if [ "$init" = systemd ] && [ "$unit_changed" = 1 ]; then
		systemctl daemon-reload || fatal "systemctl daemon-reload failed"
	fi
	[ "$skip_enable" = 1 ] || enable_service
	if [ "$skip_start" = 1 ]; then
		info "INSTALL_KEDGE_SKIP_START: not starting $service"
	else
		start_service
	fi
}

main() {
	case "${INSTALL_KEDGE_SYMLINK:-}" in
	"" | force | skip) ;;
	*) fatal "INSTALL_KEDGE_SYMLINK must be skip or force (got '$INSTALL_KEDGE_SYMLINK')" ;;
	esac
	parse_command "$@"
	check_mode
	set_service
	set_dirs
	set_arch
	set_bin_dir
	set_init
	check_service_dirs

	# The work dir is in the bin dir so the new binary is renamed into place
	# on one filesystem, and a large download does not fill a RAM-backed /tmp.
	work="$bin_dir/.kedge-install.$$"
	rm -rf "$work"
	mkdir -m 700 "$work" || fatal "cannot create $work"
	trap 'rm -rf "$work"' EXIT
	trap 'exit 1' INT TERM HUP

	changed=0 unit_changed=0
	fetch_binary
	install_binary
	install_symlinks
	install_wrappers
	install_service
	manage_service
	info "done: $service ($init) runs $bin_dir/kedge $cmd$cmd_args; undo with $bin_dir/$service-uninstall.sh"
}

main "$@"
