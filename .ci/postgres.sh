#!/usr/bin/env bash
# A throwaway PostgreSQL server on a loopback port, for the store tests.
#   source .ci/postgres.sh; postgres_start DIR   -> exports SAMVERKAN_TEST_POSTGRES
#   postgres_stop DIR
# The server binaries come from Debian's packages (/usr/lib/postgresql/*/bin), else from
# PATH; with apt-get and root, the postgresql package is installed when none is found (or
# always under CI=true, so CI tests the distribution's server). PostgreSQL refuses to run
# as root: as root the cluster belongs to the 'postgres' user the package creates (or to a
# user made for it).

postgres_bin() {
	local found
	found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [[ -n $found && -x $found/initdb ]]; then
		echo "$found"
	elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
	fi
}

postgres_install() {
	if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
		if [[ ${CI:-} == true || -z $(postgres_bin) ]]; then
			DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >/dev/null
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql </dev/null >/dev/null
		fi
	fi
	[[ -n $(postgres_bin) ]]
}

# As whom the server runs: this user, or (as root) 'postgres', created when missing.
postgres_user() {
	if [[ $(id -u) -ne 0 ]]; then
		id -un
		return
	fi
	if ! id -u postgres >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin postgres
	fi
	echo postgres
}

postgres_as() {
	local user=$1
	shift
	if [[ $(id -un) == "$user" ]]; then
		"$@"
	else
		runuser -u "$user" -- "$@"
	fi
}

postgres_start() {
	local dir=$1 bin user port
	bin=$(postgres_bin)
	user=$(postgres_user)
	mkdir -p "$dir"
	chown "$user" "$dir"
	chmod 700 "$dir"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	postgres_as "$user" "$bin/initdb" -D "$dir/data" -U samverkan -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	postgres_as "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null ||
		{ cat "$dir/server.log" >&2; return 1; }
	export SAMVERKAN_TEST_POSTGRES="postgresql://samverkan@127.0.0.1:$port/postgres"
	echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)"
}

postgres_stop() {
	local dir=$1 bin user
	[[ -d $dir/data ]] || return 0
	bin=$(postgres_bin)
	user=$(stat -c %U "$dir/data")
	postgres_as "$user" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
