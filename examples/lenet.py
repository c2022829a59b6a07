"""LeNet-5 — Conv2d, ReLU, MaxPool2d twice, then Linear, ReLU, Linear, ReLU, Linear — one compiled native step.

By default on scikit-learn's bundled 8×8 digits (offline): 3×3 kernels padded to keep the size (8 → 4 → 2, so
16·2·2 features), one-pixel shifts of the training images, SGD with momentum and a cosine schedule, 20 epochs
(≥ 98% test accuracy, about 10 s). With --fashion-mnist FOLDER on the IDX files of Fashion-MNIST: PyTorch's classic
shape (5×5 kernels, Linear(400, 120)), Adam at lr 1e-3, batch 64, 10 epochs. Prints the derived formulas — the
second convolution's input gradient is a correlation with the flipped kernel — and the loss and accuracies per
epoch; saves the learned first-layer filters, the feature maps of one test image and the training curves."""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, save, training_figure

import symnet as sn

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
#: per dataset: epochs, batch size, optimizer, learning rate
RECIPES = {"digits": (20, 32, "sgd", 0.03), "fashion-mnist": (10, 64, "adam", 1e-3)}


def lenet(side: int) -> sn.nn.Sequential:
    """LeNet-5 for square one-channel images: PyTorch's classic layout on 28×28 (5×5 kernels, the first padded by
    2: 28 → 14 → 10 → 5, 400 features); on smaller images 3×3 kernels padded by 1 (8 → 4 → 2, 64 features)."""
    nn = sn.nn
    (k1, p1), (k2, p2) = ((5, 2), (5, 0)) if side >= 28 else ((3, 1), (3, 1))
    after = ((side + 2 * p1 - k1 + 1) // 2 + 2 * p2 - k2 + 1) // 2
    return nn.Sequential(nn.Conv2d(1, 6, k1, padding=p1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, k2, padding=p2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * after * after, 120), nn.ReLU(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def shifted(images: np.ndarray) -> np.ndarray:
    """The images and their copies moved by one pixel up, down, left and right (blank edges): five times the data."""
    copies = [images]
    for axis in (1, 2):
        for direction in (1, -1):
            moved = np.roll(images, direction, axis=axis)
            edge = [slice(None)] * 3
            edge[axis] = 0 if direction == 1 else -1
            moved[tuple(edge)] = 0
            copies.append(moved)
    return np.concatenate(copies)


def datasets(folder: str | None, shift: bool):
    """Train set, the same without shifted copies (for the train accuracy) and test set, as (N, 1, H, W) images
    standardized by the training set's mean and deviation; the training images also shifted by a pixel each way
    if ``shift``."""
    if folder:
        train, test = sn.data.mnist(folder, train=True), sn.data.mnist(folder, train=False)
    else:
        train, test = sn.data.digits(train=True), sn.data.digits(train=False)
    x_train, y_train = (t.numpy() for t in train.tensors)
    x_test, y_test = (t.numpy() for t in test.tensors)
    mean, std = float(x_train.mean()), float(x_train.std())

    def dataset(x, y):
        return sn.data.TensorDataset(sn.tensor(((x - mean) / std)[:, None].astype(np.float32)), sn.tensor(y))

    plain = dataset(x_train, y_train)
    shifted_train = dataset(shifted(x_train), np.tile(y_train, 5)) if shift else plain
    return shifted_train, plain, dataset(x_test, y_test)


def accuracy(step, dataset, chunk: int = 2000) -> tuple[float, np.ndarray]:
    """Accuracy of the compiled forward pass, in chunks (a 28×28 LeNet's activations for 60000 images at once
    would take gigabytes)."""
    images, labels = (t.numpy() for t in dataset.tensors)
    predicted = np.concatenate([step.predict(images[k:k + chunk]).numpy().argmax(1)
                                for k in range(0, len(images), chunk)])
    return float((predicted == labels).mean()), predicted


def convolution_lines(formulas: str, weight: str) -> list[str]:
    """The lines that read a convolution's weight (its definition and the input gradient it sends back) and the
    weight's own gradient."""
    return [line for line in formulas.splitlines()
            if line.startswith(f"δ{weight}[") or f"{weight}[" in line.partition(" = ")[2]]


def feature_maps(net: sn.nn.Sequential, image: np.ndarray) -> list[np.ndarray]:
    """The activations after each Conv2d and its ReLU, for one (1, H, W) image, evaluated eagerly."""
    maps, h = [], sn.tensor(image[None])
    with sn.no_grad():
        for k, layer in enumerate(net):
            h = layer(h)
            if k and isinstance(net[k - 1], sn.nn.Conv2d):
                maps.append(h.numpy()[0])
    return maps


def program():
    """The loss of the 8×8 LeNet on a batch of 4, for `symnet formulas` and `symnet show`."""
    sn.manual_seed(0)
    net = lenet(8).name_parameters()
    x = sn.zeros(4, 1, 8, 8, name="X")
    return sn.nn.CrossEntropyLoss()(net(x), sn.tensor([0, 1, 2, 3], name="Y")), None


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--fashion-mnist", metavar="FOLDER", help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--epochs", type=int, help="default: 20 on the digits, 10 on Fashion-MNIST")
    p.add_argument("--batch-size", type=int, help="default: 32 on the digits, 64 on Fashion-MNIST")
    p.add_argument("--optimizer", choices=["sgd", "adam"], help="default: sgd (momentum 0.9, weight decay 5e-4) on "
                   "the digits, adam on Fashion-MNIST")
    p.add_argument("--lr", type=float, help="initial learning rate, annealed to 0 by a cosine schedule (default: "
                   "0.03 with sgd on the digits, 1e-3 with adam on Fashion-MNIST)")
    p.add_argument("--no-shift", action="store_true", help="do not add one-pixel shifts of the digits")
    p.add_argument("--seed", type=int, default=0, help="manual_seed for the initial weights and the order (default: 0)")
    args = p.parse_args(argv)
    began = time.perf_counter()
    name = "fashion-mnist" if args.fashion_mnist else "digits"
    epochs, batch_size, optimizer, lr = RECIPES[name]
    epochs, batch_size = args.epochs or epochs, args.batch_size or batch_size
    if args.optimizer and args.optimizer != optimizer:
        optimizer, lr = args.optimizer, RECIPES["fashion-mnist" if args.optimizer == "adam" else "digits"][3]
    lr = args.lr or lr

    sn.manual_seed(args.seed)
    train, plain_train, test = datasets(args.fashion_mnist, shift=name == "digits" and not args.no_shift)
    side = train.tensors[0].shape[-1]
    net = lenet(side)
    print(net)
    if optimizer == "sgd":
        opt = sn.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    else:
        opt = sn.optim.Adam(net.parameters(), lr=lr)
    schedule = sn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    step = sn.compile(net, sn.nn.CrossEntropyLoss(), opt)
    loader = sn.data.DataLoader(train, batch_size=batch_size, shuffle=True)
    shifts = f" ({len(plain_train)} and their one-pixel shifts)" if train is not plain_train else ""
    print(f"{name}: {len(train)} training images of {side}×{side}{shifts}, {len(test)} test images; "
          f"{optimizer} at lr {lr:g}, cosine schedule, batch {batch_size}, {epochs} epochs")

    history = {"epoch_loss": [], "train_accuracy": [], "test_accuracy": [], "seconds": []}
    clock = [time.perf_counter()]

    def report(step, epoch, losses):
        seconds = time.perf_counter() - clock[0]
        train_acc, _ = accuracy(step, plain_train)
        test_acc, _ = accuracy(step, test)
        for key, value in zip(history, (float(np.mean(losses)), train_acc, test_acc, seconds), strict=True):
            history[key].append(value)
        note = "  (derive + compile + epoch)" if epoch == 0 else ""
        print(f"epoch {epoch + 1:2d}  loss {np.mean(losses):.4f}  train acc {train_acc:.4f}  test acc {test_acc:.4f}"
              f"  lr {opt.lr:.2e}  {seconds:5.2f} s{note}", flush=True)
        schedule.step()
        clock[0] = time.perf_counter()

    fit_began = time.perf_counter()
    losses = step.fit(loader, epochs=epochs, progress=False, callbacks=[report])  # a native call per epoch
    fit_seconds = time.perf_counter() - fit_began

    formulas = step.formulas()
    print("\nThe derived formulas of one training step:")
    print(formulas)
    conv1, conv2 = (layer for layer in net if isinstance(layer, sn.nn.Conv2d))
    print(f"\nThe second convolution: its definition, the input gradient it sends back (a correlation of "
          f"δ with the flipped kernel {conv2.weight.name}: the index of δ runs against the kernel's), and the "
          "gradient of its weight:")
    for line in convolution_lines(formulas, conv2.weight.name):
        print("  " + line)

    test_acc, predicted = accuracy(step, test)
    labels = test.tensors[1].numpy()
    print(f"\n{epochs} epochs, {len(losses)} steps in {fit_seconds:.2f} s (derivation, compilation and the "
          f"accuracy passes included); test accuracy {test_acc:.2%}")

    plt = pyplot(args.show)
    filters = conv1.weight.numpy()[:, 0]
    fig, axes = plt.subplots(1, len(filters), figsize=(1.6 * len(filters), 2.6))
    bound = np.abs(filters).max()
    for k, (ax, f) in enumerate(zip(axes, filters, strict=True)):
        ax.imshow(f, cmap="RdBu_r", vmin=-bound, vmax=bound)
        ax.set_title(f"filter {k}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"learned first-layer filters {conv1.weight.name} ({filters.shape[1]}×{filters.shape[2]})")
    paths = [save(fig, "lenet_filters", args)]

    image = test.tensors[0].numpy()[0]
    maps = feature_maps(net, image)
    columns = 8
    rows = 1 + sum(-(-len(m) // columns) for m in maps)
    fig, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.5 * rows))
    names = FASHION if name == "fashion-mnist" else [str(d) for d in range(10)]
    axes[0, 0].imshow(image[0], cmap="gray_r")
    axes[0, 0].set_title(f"input: {names[labels[0]]}\npredicted {names[predicted[0]]}", fontsize=8)
    row = 1
    for layer, m in enumerate(maps, start=1):
        for k, channel in enumerate(m):
            ax = axes[row + k // columns, k % columns]
            ax.imshow(channel, cmap="viridis")
            ax.set_title(f"conv{layer} ch {k}", fontsize=7)
        row += -(-len(m) // columns)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("feature maps of one test image after each Conv2d + ReLU")
    paths.append(save(fig, "lenet_feature_maps", args))

    fig = training_figure(plt, losses, history["epoch_loss"], {"train": history["train_accuracy"],
                          "test": history["test_accuracy"]}, f"LeNet-5 on {name}: {optimizer} at lr {lr:g}, cosine "
                          f"schedule, batch {batch_size}; test accuracy {test_acc:.2%}", "cross entropy")
    paths.append(save(fig, "lenet_curves", args))
    total = time.perf_counter() - began
    print(f"whole example (data, training, formulas, figures): {total:.2f} s")
    return {"dataset": name, "test_accuracy": test_acc, "train_accuracy": history["train_accuracy"][-1],
            "test_accuracies": history["test_accuracy"], "epoch_losses": history["epoch_loss"], "losses": losses,
            "epoch_seconds": history["seconds"], "formulas": formulas, "figures": paths, "fit_seconds": fit_seconds,
            "total_seconds": total}


if __name__ == "__main__":
    main()
