"""A multilayer perceptron classifier — Flatten, Linear, ReLU, Linear, cross entropy, SGD.

By default on scikit-learn's bundled 8×8 digits (offline); with --fashion-mnist FOLDER on the IDX files of
Fashion-MNIST (the seed's 784-256-10 recipe, batch 256). Prints loss and accuracies per epoch (``fit``'s History with
accuracy metrics); saves the training curves, a confusion matrix and a figure of misclassified images."""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, save, training_figure

import symnet as sn


def model(inputs: int, hidden: int = 256) -> sn.nn.Module:
    net = sn.nn.Sequential(sn.nn.Flatten(), sn.nn.Linear(inputs, hidden), sn.nn.ReLU(), sn.nn.Linear(hidden, 10))
    for layer in (net[1], net[3]):
        sn.nn.init.normal_(layer.weight, std=0.01)
        sn.nn.init.zeros_(layer.bias)
    return net


def datasets(folder):
    if folder:
        return sn.data.mnist(folder, train=True), sn.data.mnist(folder, train=False)
    return sn.data.digits(train=True), sn.data.digits(train=False)


FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def program():
    sn.manual_seed(0)
    net = model(64).name_parameters()
    x = sn.zeros(4, 8, 8, name="X")
    return sn.nn.CrossEntropyLoss()(net(x), sn.tensor([0, 1, 2, 3], name="Y")), None


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--epochs", type=int, default=20, help="passes over the training set (default: 20)")
    p.add_argument("--batch-size", type=int, default=32, help="minibatch size (default: 32)")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default: 0.1)")
    p.add_argument("--fashion-mnist", metavar="FOLDER", help="folder with the Fashion-MNIST IDX files")
    args = p.parse_args(argv)
    sn.manual_seed(0)
    train, test = datasets(args.fashion_mnist)
    shape = train.tensors[0].shape[1:]
    net = model(int(np.prod(shape)))
    step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9))
    loader = sn.data.DataLoader(train, batch_size=args.batch_size, shuffle=True)
    accuracies = {"train acc": lambda s: s.accuracy(train.tensors), "test acc": lambda s: s.accuracy(test.tensors)}
    began = time.perf_counter()
    history = step.fit(loader, epochs=args.epochs, metrics=accuracies)
    seconds = time.perf_counter() - began
    for epoch, loss in enumerate(history.epoch_loss):
        print(f"epoch {epoch + 1:2d}  loss {loss:.4f}  "
              + "  ".join(f"{name} {values[epoch]:.3f}" for name, values in history.metrics.items()))
    print(f"{args.epochs} epochs in {seconds:.2f} s (compilation and the accuracy passes included)")
    images, labels = (t.numpy() for t in test.tensors)
    predicted = step.predict(images).numpy().argmax(1)
    test_acc = float((predicted == labels).mean())
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    names = FASHION if args.fashion_mnist else [str(d) for d in range(10)]
    what = "Fashion-MNIST" if args.fashion_mnist else "8×8 digits"

    plt = pyplot(args.show)
    fig = training_figure(plt, history.losses, history.epoch_loss, history.metrics, f"MLP on the {what}: SGD at lr "
                          f"{args.lr:g}, momentum 0.9, batch {args.batch_size}", "cross entropy")
    save(fig, "mlp_curves", args)

    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.imshow(confusion, cmap="Blues")
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > confusion.max() / 2 else "black")
    ax.set_xticks(range(10), names, rotation=45 if args.fashion_mnist else 0, ha="right" if args.fashion_mnist
                  else "center")
    ax.set_yticks(range(10), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix of the {len(labels)} test images: accuracy {test_acc:.1%}")
    save(fig, "mlp_confusion", args)

    wrong = np.flatnonzero(predicted != labels)
    shown = wrong[:12]
    rows = 1 if len(shown) <= 6 else 2              # at most one empty cell
    columns = max(1, -(-len(shown) // rows))
    fig, axes = plt.subplots(rows, columns, figsize=(1.7 * columns + 0.5, 1.9 * rows + 0.6), squeeze=False)
    for ax, k in zip(axes.flat, shown, strict=False):
        ax.imshow(images[k].reshape(shape), cmap="gray_r")
        ax.set_title(f"{names[labels[k]]} → {names[predicted[k]]}", fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    if len(shown):
        count = f"all {len(wrong)}" if len(shown) == len(wrong) else f"{len(shown)} of the {len(wrong)}"
        fig.suptitle(f"{count} misclassified test images ({len(labels)} in all), true → predicted", fontsize=10)
    else:
        fig.suptitle("no misclassified test image", fontsize=10)
    fig.tight_layout()
    save(fig, "mlp_misclassified", args)
    return {"test_accuracy": test_acc, "confusion": confusion}


if __name__ == "__main__":
    main()
