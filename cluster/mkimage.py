#!/usr/bin/env python3
"""Assemble a single-layer OCI image archive (oci-layout tarball) without a registry or
a container engine, for `ctr -n k8s.io images import`.

  mkimage.py --name localhost/shoal/pause:3.10 --out pause.tar \
      --entrypoint /pause --file state/cluster/bin/pause/pause:/pause:0755

--file SRC:DST[:MODE]  copy a host file into the image
--dir DST              create an empty directory (mode 1777 for /tmp)
--symlink DST:TARGET   create a symlink
--text DST:CONTENT     create a small text file (\\n escapes honoured)

The layer tar is deterministic (mtime 0, uid/gid 0), so the same inputs give the same
image digest.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile


def add_parents(tar, seen, path):
    parts = path.strip("/").split("/")[:-1]
    cur = ""
    for p in parts:
        cur = f"{cur}/{p}" if cur else p
        if cur in seen:
            continue
        seen.add(cur)
        ti = tarfile.TarInfo(cur)
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o755
        ti.mtime = 0
        tar.addfile(ti)


def build_layer(args):
    buf = io.BytesIO()
    seen = set()
    entries = []
    for d in args.dir:
        entries.append(("dir", d.strip("/"), None, None))
    for spec in args.file:
        parts = spec.split(":")
        src, dst = parts[0], parts[1]
        mode = int(parts[2], 8) if len(parts) > 2 else None
        entries.append(("file", dst.strip("/"), src, mode))
    for spec in args.symlink:
        dst, target = spec.split(":", 1)
        entries.append(("link", dst.strip("/"), target, None))
    for spec in args.text:
        dst, content = spec.split(":", 1)
        entries.append(("text", dst.strip("/"), content.encode().decode("unicode_escape"), None))
    entries.sort(key=lambda e: e[1])
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, dst, src, mode in entries:
            add_parents(tar, seen, dst)
            ti = tarfile.TarInfo(dst)
            ti.mtime = 0
            if kind == "dir":
                if dst in seen:
                    continue
                seen.add(dst)
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o1777 if dst == "tmp" else 0o755
                tar.addfile(ti)
            elif kind == "file":
                st = os.stat(src)
                ti.size = st.st_size
                ti.mode = mode if mode is not None else (st.st_mode & 0o7777)
                with open(src, "rb") as f:
                    tar.addfile(ti, f)
            elif kind == "link":
                ti.type = tarfile.SYMTYPE
                ti.linkname = src
                ti.mode = 0o777
                tar.addfile(ti)
            else:
                data = src.encode()
                ti.size = len(data)
                ti.mode = 0o644
                tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--entrypoint", action="append", default=[])
    ap.add_argument("--cmd", action="append", default=[])
    ap.add_argument("--env", action="append", default=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    ap.add_argument("--user", default="")
    ap.add_argument("--workdir", default="/")
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("--symlink", action="append", default=[])
    ap.add_argument("--text", action="append", default=[])
    args = ap.parse_args()

    layer_tar = build_layer(args)
    diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(layer_tar)
    layer_gz = gz.getvalue()

    config = {
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": args.env,
            "Entrypoint": args.entrypoint or None,
            "Cmd": args.cmd or None,
            "WorkingDir": args.workdir,
            **({"User": args.user} if args.user else {}),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "shoal cluster/mkimage.py"}],
    }
    config_b = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()

    def desc(media, data):
        return {"mediaType": media, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc("application/vnd.oci.image.config.v1+json", config_b),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", layer_gz)],
    }
    manifest_b = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    tag = args.name.rsplit(":", 1)[1] if ":" in args.name.rsplit("/", 1)[-1] else "latest"
    mdesc = desc("application/vnd.oci.image.manifest.v1+json", manifest_b)
    mdesc["annotations"] = {"io.containerd.image.name": args.name, "org.opencontainers.image.ref.name": tag}
    mdesc["platform"] = {"architecture": "amd64", "os": "linux"}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [mdesc]}
    index_b = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()

    tmp = args.out + ".tmp"
    with tarfile.open(tmp, "w") as out:
        def put(name, data, mode=0o644):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = mode
            ti.mtime = 0
            out.addfile(ti, io.BytesIO(data))

        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            out.addfile(ti)
        put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        for data in (config_b, layer_gz, manifest_b):
            put("blobs/sha256/" + hashlib.sha256(data).hexdigest(), data)
        put("index.json", index_b)
    os.replace(tmp, args.out)
    print(f"{args.name} {mdesc['digest']} -> {args.out}")


if __name__ == "__main__":
    main()
