"""Find, verify, read and (optionally) download the four Fashion-MNIST IDX files."""
import gzip
import hashlib
import os
import sys
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .errors import DatasetCorruptError, DatasetNotFoundError

DATA_ENV = "D2L_COMPAT_DATA"
MIRROR_ENV = "D2L_COMPAT_MIRROR"
DEFAULT_HOME = Path.home() / ".cache" / "d2l_compat" / "fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
OFFICIAL_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FIX_HINT = "run `make data` in the project folder (or set D2L_COMPAT_DATA to the folder holding the files)"


# name -> (IDX magic, shape, SHA-256 of the decompressed file, MD5 of the official .gz)
FILES = {
    "train-images-idx3-ubyte": (2051, (60000, 28, 28),
                                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                                "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    "train-labels-idx1-ubyte": (2049, (60000,),
                                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                                "25c81989df183df01b3e8a0aad5dffbe"),
    "t10k-images-idx3-ubyte": (2051, (10000, 28, 28),
                               "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                               "bef4ecab320f06d8554ea6380940ec79"),
    "t10k-labels-idx1-ubyte": (2049, (10000,),
                               "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                               "bb300cfdad3c16e7a12a480ee83cd310"),
}


def candidate_dirs():
    """The folders searched for the data, in order; D2L_COMPAT_DATA, when set, is the only one."""
    if os.environ.get(DATA_ENV):
        return [Path(os.environ[DATA_ENV]).expanduser()]
    d2l_data = Path("..") / "data"  # the book's convention, relative to the notebook's folder
    return [DEFAULT_HOME, d2l_data / "FashionMNIST" / "raw", d2l_data / "fashion-mnist",
            d2l_data, DEBIAN_DIR]


def _file_in(folder, name):
    for candidate in (folder / (name + ".gz"), folder / name):
        if candidate.is_file():
            return candidate
    return None


def find_data_dir():
    """Return the first folder that holds all four files, or raise DatasetNotFoundError."""
    looked = candidate_dirs()
    for folder in looked:
        if all(_file_in(folder, name) for name in FILES):
            return folder
    places = "\n".join(f"  - {p.resolve() if not p.is_absolute() else p}" for p in looked)
    raise DatasetNotFoundError(
        f"Fashion-MNIST was not found. Looked for the four IDX files (.gz or plain) in:\n{places}\n"
        f"To fix: {FIX_HINT}.")


def _read_bytes(path):
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, OSError, zlib.error) as err:
        raise DatasetCorruptError(
            f"{path} is truncated or corrupted ({err.__class__.__name__}: {err}). "
            f"Delete it and {FIX_HINT}.") from None


def read_idx(path, name):
    """Read one IDX file, checking its checksum, magic number and shape; return a uint8 array."""
    magic, shape, sha256, _ = FILES[name]
    raw = _read_bytes(path)
    if hashlib.sha256(raw).hexdigest() != sha256:
        header = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
        what = "not an IDX file" if header != magic else "an IDX file whose contents differ from Fashion-MNIST's"
        raise DatasetCorruptError(
            f"{path} failed its checksum: {len(raw)} bytes, {what} "
            f"(expected SHA-256 {sha256[:12]}…). Delete it and {FIX_HINT}.")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    assert int.from_bytes(raw[:4], "big") == magic and dims == shape  # implied by the checksum
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_arrays(data_dir=None):
    """Return (train_images, train_labels, test_images, test_labels) as uint8 arrays."""
    folder = Path(data_dir) if data_dir is not None else find_data_dir()
    arrays = []
    for name in FILES:
        path = _file_in(folder, name)
        if path is None:
            raise DatasetNotFoundError(f"{folder} has no {name}(.gz). To fix: {FIX_HINT}.")
        arrays.append(read_idx(path, name))
    return tuple(arrays)


def download(target=None, mirror=None):
    """Download the official .gz files into `target`, verify MD5, and only then rename into place."""
    target = Path(target or os.environ.get(DATA_ENV) or DEFAULT_HOME).expanduser()
    mirror = mirror or os.environ.get(MIRROR_ENV) or OFFICIAL_MIRROR
    target.mkdir(parents=True, exist_ok=True)
    for name, (_, _, _, md5) in FILES.items():
        final = target / (name + ".gz")
        if final.is_file() and hashlib.md5(final.read_bytes()).hexdigest() == md5:
            continue
        url = mirror.rstrip("/") + "/" + name + ".gz"
        fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{name}.", suffix=".part")
        try:
            try:
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
            except OSError as err:  # URLError, timeouts and refused connections are all OSErrors
                raise DatasetNotFoundError(
                    f"could not download {url} ({err}); nothing was saved. Check the network, or install "
                    f"the Debian package dataset-fashion-mnist and {FIX_HINT}.") from None
            got = hashlib.md5(Path(tmp).read_bytes()).hexdigest()
            if got != md5:
                raise DatasetCorruptError(
                    f"download of {url} has MD5 {got}, expected {md5}; nothing was saved. Try again later.")
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        print(f"downloaded {final}")
    return target


def _main(argv):
    """`python -m d2l_compat.common.fashion_mnist check|download|remove-download`."""
    import shutil
    command = argv[0] if argv else "check"
    try:
        if command == "check":
            folder = find_data_dir()
            load_arrays(folder)
            print(f"Fashion-MNIST: 4 files verified in {folder.resolve()}")
        elif command == "download":
            download()
        elif command == "remove-download":
            target = Path(os.environ.get(DATA_ENV) or DEFAULT_HOME).expanduser()
            shutil.rmtree(target, ignore_errors=True)
            print(f"removed {target}")
        else:
            print("usage: python -m d2l_compat.common.fashion_mnist [check|download|remove-download]")
            return 2
    except (DatasetNotFoundError, DatasetCorruptError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
