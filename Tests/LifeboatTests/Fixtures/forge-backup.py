#!/usr/bin/env python3
"""Writes a hand-made backup into a lifeboat file repository, with a manifest that matches it.

    forge-backup.py REPO CASE --id ID --source-root DIR --outside DIR
    forge-backup.py REPO corrupt-db --id ID --from ID

The archive (REPO/backups/ID.tar.gz) and the manifest object (REPO/backups/ID.manifest.json)
agree with each other, so only lifeboat's checks of the members themselves stand between a
hostile archive and the file system. Every case has one tree source named "config", recorded
as read from SOURCE_ROOT/config. Hostile members aim at OUTSIDE, a directory the test watches.

Cases:
  benign            a valid backup of config/ (the control)
  absolute          a member with an absolute path into OUTSIDE
  dotdot            a member whose path climbs out with '..'
  symlink-escape    config/link -> OUTSIDE, then config/link/evil.txt through it
  hardlink-escape   config/passwd, a hard link to OUTSIDE/secret.txt
  device            config/null, a character device
  dir-to-symlink    config/sub as a directory, then config/sub again as a symlink to
                    OUTSIDE, then config/sub/evil.txt
  truncated-gzip    a valid archive cut in half; the manifest has the cut file's checksum
  oversize-header   a member whose header declares more data than the archive contains
  manifest-mismatch the manifest lists another SHA-256 for config/app.yaml than the archive
  corrupt-db        a copy of backup FROM whose app.db fails PRAGMA integrity_check
Standard library only.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import sqlite3
import sys
import tarfile
import tempfile

MTIME = 1717200000  # 2024-06-01T00:00:00Z


def iso(seconds):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def member(name, kind="file", data=b"", link="", mode=None):
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.uid = info.gid = 0
    if kind == "file":
        info.type = tarfile.REGTYPE
        info.size = len(data)
        info.mode = 0o644 if mode is None else mode
    elif kind == "directory":
        info.type = tarfile.DIRTYPE
        info.mode = 0o755 if mode is None else mode
    elif kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = link
        info.mode = 0o777
    elif kind == "hardlink":
        info.type = tarfile.LNKTYPE
        info.linkname = link
        info.mode = 0o644
    elif kind == "device":
        info.type = tarfile.CHRTYPE
        info.devmajor, info.devminor = 1, 3
        info.mode = 0o666
    return info, data


def manifest_entry(info, data):
    names = {tarfile.REGTYPE: "file", tarfile.DIRTYPE: "directory", tarfile.SYMTYPE: "symlink",
             tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "type 3"}
    entry = {"path": info.name, "type": names[info.type],
             "size": info.size if info.type == tarfile.REGTYPE else 0,
             "mode": "%04o" % info.mode, "mtime": iso(info.mtime), "uid": 0, "gid": 0}
    if info.type == tarfile.REGTYPE:
        entry["sha256"] = hashlib.sha256(data).hexdigest()
    if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        entry["link_target"] = info.linkname
    return entry


def benign_members():
    return [
        member("config", "directory"),
        member("config/app.yaml", data=b"name: forged\nport: 8080\n"),
        member("config/notes.txt", data=b"a file beside the hostile ones\n"),
    ]


def case_members(case, outside):
    base = benign_members()
    if case == "benign" or case in ("truncated-gzip", "manifest-mismatch"):
        return base
    if case == "absolute":
        return base + [member(outside + "/absolute.txt", data=b"written through an absolute path\n")]
    if case == "dotdot":
        return base + [member("config/../../outside/dotdot.txt", data=b"written through '..'\n")]
    if case == "symlink-escape":
        return base + [member("config/link", "symlink", link=outside),
                       member("config/link/evil.txt", data=b"written through a symlink\n")]
    if case == "hardlink-escape":
        return base + [member("config/passwd", "hardlink", link=outside + "/secret.txt")]
    if case == "device":
        return base + [member("config/null", "device")]
    if case == "dir-to-symlink":
        return base + [member("config/sub", "directory"),
                       member("config/sub", "symlink", link=outside),
                       member("config/sub/evil.txt", data=b"written through a replaced directory\n")]
    if case == "oversize-header":
        return base + [member("config/big.txt", data=b"x" * 100)]
    raise SystemExit(f"unknown case {case}")


def tar_bytes(members, manifest_json):
    """Builds the tar stream: the members, then manifest.json, as lifeboat writes it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
        info, data = member("manifest.json", data=manifest_json)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def declare_larger_size(stream, name, size):
    """Rewrites the size field of member NAME's ustar header and fixes its checksum."""
    offset = 0
    while offset < len(stream):
        header = bytearray(stream[offset:offset + 512])
        if header[:len(name)] == name.encode() and header[len(name)] == 0:
            header[124:136] = b"%011o\0" % size
            header[148:156] = b" " * 8
            header[148:156] = b"%06o\0 " % sum(header)
            return stream[:offset] + bytes(header) + stream[offset + 512:]
        offset += 512
    raise SystemExit(f"member {name} not found")


def write_backup(repo, backup_id, manifest, archive):
    os.makedirs(os.path.join(repo, "backups"), exist_ok=True)
    key = f"backups/{backup_id}.tar.gz"
    with open(os.path.join(repo, key), "wb") as file:
        file.write(archive)
    manifest = dict(manifest)
    manifest["archive"] = {"key": key, "size": len(archive),
                           "sha256": hashlib.sha256(archive).hexdigest(), "compression": "gzip"}
    with open(os.path.join(repo, "backups", f"{backup_id}.manifest.json"), "w") as file:
        json.dump(manifest, file, indent=2, sort_keys=True)


def base_manifest(backup_id, sources, files):
    return {"format": "lifeboat-manifest", "format_version": 1, "id": backup_id,
            "host": "forge", "lifeboat_version": "0.1.0", "started_at": iso(MTIME),
            "finished_at": iso(MTIME), "status": "complete", "compression": "gzip",
            "sources": sources, "files": files, "warnings": [],
            "file_count": sum(1 for f in files if f["type"] == "file"),
            "total_bytes": sum(f["size"] for f in files)}


def forge_case(args):
    members = case_members(args.case, args.outside)
    files = [manifest_entry(info, data) for info, data in members]
    if args.case == "manifest-mismatch":
        for entry in files:
            if entry["path"] == "config/app.yaml":
                entry["sha256"] = hashlib.sha256(b"what the manifest claims\n").hexdigest()
    if args.case == "oversize-header":
        for entry in files:
            if entry["path"] == "config/big.txt":
                entry["size"] = 1 << 20
    sources = [{"name": "config", "kind": "tree", "path": os.path.join(args.source_root, "config")}]
    manifest = base_manifest(args.id, sources, files)
    stream = tar_bytes(members, json.dumps(manifest, indent=2, sort_keys=True).encode())
    if args.case == "oversize-header":
        stream = declare_larger_size(stream, "config/big.txt", 1 << 20)
    archive = gzip.compress(stream, mtime=0)
    if args.case == "truncated-gzip":
        archive = archive[: len(archive) // 2]
    write_backup(args.repo, args.id, manifest, archive)


def corrupt_database(path):
    """Overwrites the root page of the largest table, so integrity_check fails but the
    database still opens."""
    connection = sqlite3.connect(path)
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    tables = connection.execute(
        "SELECT name, rootpage FROM sqlite_master WHERE type = 'table' AND rootpage > 1").fetchall()
    root = max(tables, key=lambda row: connection.execute(
        f'SELECT count(*) FROM "{row[0]}"').fetchone()[0])[1]
    connection.close()
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)


def forge_corrupt_db(args):
    source_dir = os.path.join(args.repo, "backups")
    with open(os.path.join(source_dir, f"{args.source_id}.manifest.json")) as file:
        manifest = json.load(file)
    manifest.pop("archive")
    manifest["id"] = args.id
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(os.path.join(source_dir, f"{args.source_id}.tar.gz")) as archive:
            members = [(info, archive.extractfile(info).read() if info.isfile() else b"")
                       for info in archive.getmembers()]
        database = os.path.join(scratch, "app.db")
        with open(database, "wb") as file:
            file.write(dict((info.name, data) for info, data in members)["app.db"])
        corrupt_database(database)
        with open(database, "rb") as file:
            corrupted = file.read()

    for entry in manifest["files"]:
        if entry["path"] == "app.db":
            entry["sha256"] = hashlib.sha256(corrupted).hexdigest()
            entry["size"] = len(corrupted)
    sums = "".join(f'{f["sha256"]}  {f["path"]}\n' for f in manifest["files"] if f["type"] == "file")
    inner = json.dumps(manifest, indent=2, sort_keys=True).encode()

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            if info.name == "app.db":
                data = corrupted
            elif info.name == "manifest.json":
                data = inner
            elif info.name == "SHA256SUMS":
                data = sums.encode()
            if info.isfile():
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    write_backup(args.repo, args.id, manifest, gzip.compress(buffer.getvalue(), mtime=0))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("repo")
    parser.add_argument("case")
    parser.add_argument("--id", required=True)
    parser.add_argument("--source-root")
    parser.add_argument("--outside")
    parser.add_argument("--from", dest="source_id")
    args = parser.parse_args()
    if args.case == "corrupt-db":
        forge_corrupt_db(args)
    else:
        forge_case(args)


if __name__ == "__main__":
    sys.exit(main())
