"""Will a data set fit in memory? Checked before allocating, so a wrong size ends in a clear error."""
import os


class NotEnoughMemoryError(MemoryError):
    """The data asked for does not fit in this computer's memory; the message gives the sizes."""


def meminfo_bytes(key, meminfo="/proc/meminfo"):
    """One /proc/meminfo figure (MemTotal, MemAvailable, ...) in bytes, or None where it cannot be read."""
    try:
        with open(meminfo, encoding="utf-8") as f:
            for line in f:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def available_bytes(meminfo="/proc/meminfo"):
    """Memory this process can still use (Linux's MemAvailable), or None where it cannot be read."""
    found = meminfo_bytes("MemAvailable", meminfo)
    if found is not None:
        return found
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def readable(n):
    """A byte count as people read it: 1.5 GiB, 53.3 PiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


def resized_set_bytes(images, size, chunk):
    """Bytes that resizing `images` (N, H, W) uint8 to size x size needs: the uint8 result plus one float32 chunk."""
    n, height, width = images
    block = min(chunk, n)
    return n * size * size + 4 * block * (height * width + size * width + size * size)


def check_resize(counts, shape, size, chunk, available=None):
    """Raise NotEnoughMemoryError if resizing sets of `counts` images of `shape` to size x size cannot fit.

    The message names the memory needed and available and the largest size that fits in half of it.
    """
    available = available_bytes() if available is None else available
    if available is None:
        return
    need = sum(resized_set_bytes((n, *shape), size, chunk) for n in counts)
    if need <= available:
        return
    def fits_in_half(s):
        return 2 * sum(resized_set_bytes((n, *shape), s, chunk) for n in counts) <= available
    low, high = 1, size  # the largest size that fits in half the memory, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits_in_half(mid) else (low, mid - 1)
    fits = low
    raise NotEnoughMemoryError(
        f"resize={size} needs {readable(need)} of memory for {sum(counts):,} images of {size}x{size} pixels, "
        f"but this computer has {readable(available)} available. Choose a smaller resize: the book uses 96 "
        f"(or 224 for ImageNet-sized inputs); here at most about {fits} fits. "
        f"（resize={size} 需要 {readable(need)} 内存，本机只有 {readable(available)} 可用；"
        f"请改用较小的 resize，例如书中的 96。）")
