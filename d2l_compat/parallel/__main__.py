"""python -m d2l_compat.parallel --framework F [--workers N] [--images K] [--device cpu|gpu] [--recipe book]"""
import argparse
import sys

from . import ENGINES
from .launch import DEFAULT_IMAGES, DEFAULT_TIMEOUT_S, ParallelTrainingError, train


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m d2l_compat.parallel",
                                     description="在多个工作进程（或设备）上用框架自己的数据并行引擎训练笔记本中的 ResNet-18。")
    parser.add_argument("--framework", choices=ENGINES, required=True)
    parser.add_argument("--workers", type=int, default=2, help="工作进程（或设备）个数，默认 2")
    parser.add_argument("--images", type=int, default=None,
                        help=f"课堂模式训练的图像张数，默认 {DEFAULT_IMAGES}（--recipe book 时不用）")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--recipe", choices=("classroom", "book"), default="classroom",
                        help="classroom：课堂模式的设置（默认）；book：书中的设置（96×96，10 个迭代周期，批量大小 256）")
    parser.add_argument("--test-images", type=int, default=None, help="只在前这么多张测试图像上测试（默认全部）")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="秒；超时则停止全部进程")
    args = parser.parse_args(argv)
    try:
        train(args.framework, args.workers, args.images, args.device, args.test_images, args.timeout,
              recipe=args.recipe)
    except (ParallelTrainingError, ValueError, TypeError) as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
