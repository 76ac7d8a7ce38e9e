#!/usr/bin/env python3
"""Inputs for lifeboat's tests of problems other backup tools have had in the field.

Each subcommand builds one input or runs one background actor. Actors stop by themselves after
the given number of seconds, so a test that dies never leaves them running for long.
"""
import hashlib
import json
import os
import random
import sqlite3
import sys
import time


def hostile_names(directory):
    """File names that are not UTF-8, differ only by normalisation, or hold control bytes."""
    logs = os.path.join(os.fsencode(directory), b"logs")
    os.makedirs(logs, exist_ok=True)
    names = [
        b"\xff.log", b"\xfe.log", b"latin1-caf\xe9.log", b"bad-seq-\xc3\x28.log",
        b"caf\xc3\xa9.txt", b"cafe\xcc\x81.txt",
        b"new\nline.log", b"back\\slash.log", b"-dash-first.log", b" space-first.log",
        b"tab\there.log",
    ]
    for index, name in enumerate(names):
        with open(os.path.join(logs, name), "wb") as handle:
            handle.write(b"file %d\n" % index)
    inner = os.path.join(logs, b"dir-\xe4\xf6")
    os.makedirs(inner, exist_ok=True)
    with open(os.path.join(inner, b"inner.log"), "wb") as handle:
        handle.write(b"inner\n")


def long_paths(directory):
    """Paths around and beyond the 100-byte ustar name field, and a long symlink target."""
    root = os.path.join(directory, "logs")
    os.makedirs(root, exist_ok=True)

    def make(relative, content=None):
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(content or relative)

    # Lengths count the path inside the archive, which starts with "logs/".
    for length in (99, 100, 101):
        stem = "a" * (length - len("logs/") - len("/x.log"))
        make(stem + "/x.log")
    make("n" * 251 + ".log")
    make("deep/" + "c" * 116 + ".log")
    make("/".join("level%02d-%s" % (index, "d" * 90) for index in range(30)) + "/end.log")
    prefix = "same-prefix/" + "s" * 100
    make(prefix + "-first.log", "first")
    make(prefix + "-second.log", "second")
    euro = "e" * (100 - len("logs/utf8/") - 1) + "\u20ac-tail.log"
    make("utf8/" + euro)
    target = "t" * 150
    make(target)
    os.symlink(target, os.path.join(root, "longlink"))


def tree_digest(directory):
    """Prints one line per entry: raw path (hex), type, and content hash or link target."""
    root = os.fsencode(directory)
    lines = []
    for current, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(current, name)
            relative = os.path.relpath(path, root)
            if os.path.islink(path):
                lines.append("%s link %s" % (relative.hex(), os.readlink(path).hex()))
            elif os.path.isdir(path):
                lines.append("%s dir" % relative.hex())
            else:
                with open(path, "rb") as handle:
                    lines.append("%s file %s" % (relative.hex(), hashlib.sha256(handle.read()).hexdigest()))
    print("\n".join(sorted(lines)))


def writers(directory, seconds):
    """Appends to growing.log and cuts shrinking.log back while a backup reads them."""
    growing = os.path.join(directory, "growing.log")
    shrinking = os.path.join(directory, "shrinking.log")
    line = ("x" * 4095 + "\n").encode()
    end = time.time() + seconds
    count = 0
    with open(growing, "ab") as grow:
        while time.time() < end:
            grow.write(line)
            grow.flush()
            count += 1
            if count % 25 == 0:
                size = os.path.getsize(shrinking)
                if size > 12 << 20:
                    os.truncate(shrinking, 4 << 20)
                else:
                    with open(shrinking, "ab") as handle:
                        handle.write(os.urandom(1 << 20) * 4)
            time.sleep(0.001)


def churn(directory, seconds):
    """Deletes and recreates rotated files and job directories in a tight loop."""
    rotated = os.path.join(directory, "rotated")
    spool = os.path.join(directory, "spool")
    end = time.time() + seconds
    random.seed(7)
    while time.time() < end:
        name = os.path.join(rotated, "r%04d.log" % random.randrange(1500))
        try:
            os.unlink(name)
        except FileNotFoundError:
            with open(name, "w") as handle:
                handle.write("z" * 2048)
        job = os.path.join(spool, "job%03d" % random.randrange(100))
        try:
            for entry in os.listdir(job):
                os.unlink(os.path.join(job, entry))
            os.rmdir(job)
        except FileNotFoundError:
            os.makedirs(job, exist_ok=True)
            with open(os.path.join(job, "payload"), "w") as handle:
                handle.write("job")
        except OSError:
            pass


def churn_tree(directory):
    rotated = os.path.join(directory, "rotated")
    spool = os.path.join(directory, "spool")
    os.makedirs(rotated, exist_ok=True)
    os.makedirs(spool, exist_ok=True)
    for index in range(1500):
        with open(os.path.join(rotated, "r%04d.log" % index), "w") as handle:
            handle.write("z" * 2048)
    for index in range(100):
        job = os.path.join(spool, "job%03d" % index)
        os.makedirs(job, exist_ok=True)
        with open(os.path.join(job, "payload"), "w") as handle:
            handle.write("job")
    with open(os.path.join(directory, "current.log"), "w") as handle:
        handle.write("steady\n" * 1000)


def wal_holder(database, seconds, ready):
    """An application that commits 1000 rows in WAL mode, never checkpoints, and stays open."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)")
    connection.execute("BEGIN")
    for index in range(1000):
        connection.execute("INSERT INTO orders (item) VALUES (?)", ("item-%d" % index,))
    connection.execute("COMMIT")
    open(ready, "w").close()
    time.sleep(seconds)


def bank(database):
    """A rollback-journal database whose account balances always sum to 1,000,000."""
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
    connection.execute("CREATE TABLE counter (tx INTEGER)")
    connection.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)")
    connection.executemany("INSERT INTO accounts VALUES (?, 1000)", [(i,) for i in range(1000)])
    connection.execute("INSERT INTO counter VALUES (0)")
    connection.executemany("INSERT INTO blobs (data) VALUES (?)", [(os.urandom(4096),) for _ in range(2500)])
    connection.commit()


def bank_writer(database, seconds):
    """Moves money between accounts every few milliseconds; the sum never changes."""
    connection = sqlite3.connect(database, timeout=60, isolation_level=None)
    end = time.time() + seconds
    random.seed(3)
    while time.time() < end:
        source, target = random.randrange(1000), random.randrange(1000)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE accounts SET balance = balance - 1 WHERE id = ?", (source,))
        connection.execute("UPDATE accounts SET balance = balance + 1 WHERE id = ?", (target,))
        connection.execute("UPDATE counter SET tx = tx + 1")
        connection.execute("COMMIT")
        time.sleep(0.005)


def locker(database, seconds, ready):
    """Holds an exclusive lock on the database for `seconds`."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    open(ready, "w").close()
    time.sleep(seconds)
    connection.execute("COMMIT")


def bank_check(database):
    connection = sqlite3.connect(database)
    print(json.dumps({
        "integrity": connection.execute("PRAGMA integrity_check").fetchone()[0],
        "sum": connection.execute("SELECT sum(balance) FROM accounts").fetchone()[0],
        "tx": connection.execute("SELECT tx FROM counter").fetchone()[0],
    }))


def main():
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "hostile-names":
        hostile_names(arguments[0])
    elif command == "long-paths":
        long_paths(arguments[0])
    elif command == "tree-digest":
        tree_digest(arguments[0])
    elif command == "writers":
        writers(arguments[0], float(arguments[1]))
    elif command == "churn-tree":
        churn_tree(arguments[0])
    elif command == "churn":
        churn(arguments[0], float(arguments[1]))
    elif command == "wal-holder":
        wal_holder(arguments[0], float(arguments[1]), arguments[2])
    elif command == "bank":
        bank(arguments[0])
    elif command == "bank-writer":
        bank_writer(arguments[0], float(arguments[1]))
    elif command == "locker":
        locker(arguments[0], float(arguments[1]), arguments[2])
    elif command == "bank-check":
        bank_check(arguments[0])
    else:
        sys.exit("unknown command %s" % command)


if __name__ == "__main__":
    main()
