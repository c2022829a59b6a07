"""The helpers of "Dive into Deep Learning" that seed 003 imports as ``d2lzh1981``, written against symnet;
Fashion-MNIST's download is replaced by the bundled 8×8 digits, enlarged to 28×28 (784 inputs, 10 classes);
the training set is the digits at nine one-pixel shifts (about 12000 images), so five epochs are as many steps
as the book's loop takes to learn."""

import numpy as np

import symnet as torch
from symnet import nn


def _enlarged(images: np.ndarray, shifts: int) -> np.ndarray:
    big = np.kron(images, np.ones((3, 3), dtype=images.dtype))    # 8×8 → 24×24
    framed = np.pad(big, ((0, 0), (2, 2), (2, 2)))[:, None]        # → 1×28×28, as Fashion-MNIST
    moves = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)][:shifts]
    return np.concatenate([np.roll(framed, move, axis=(2, 3)) for move in moves])


def load_data_fashion_mnist(batch_size, resize=None, root=None):
    loaders = []
    for train in (True, False):
        data = torch.data.digits(train=train)
        images, labels = data.tensors
        shifts = 9 if train else 1
        dataset = torch.data.TensorDataset(torch.tensor(_enlarged(images.numpy(), shifts)),
                                           torch.tensor(np.tile(labels.numpy(), shifts)))
        loaders.append(torch.data.DataLoader(dataset, batch_size=batch_size, shuffle=train))
    return tuple(loaders)


def sgd(params, lr, batch_size):
    for param in params:
        param.data -= lr * param.grad / batch_size


def evaluate_accuracy(data_iter, net):
    acc_sum, n = 0.0, 0
    for X, y in data_iter:
        acc_sum += (net(X).argmax(dim=1) == y).float().sum().item()
        n += y.shape[0]
    return acc_sum / n


def train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size, params=None, lr=None, optimizer=None):
    for epoch in range(num_epochs):
        train_l_sum, train_acc_sum, n = 0.0, 0.0, 0
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y).sum()  # noqa: E741 - the book's name
            if optimizer is not None:
                optimizer.zero_grad()
            elif params is not None and params[0].grad is not None:
                for param in params:
                    param.grad.data.zero_()
            l.backward()
            if optimizer is None:
                sgd(params, lr, batch_size)
            else:
                optimizer.step()
            train_l_sum += l.item()
            train_acc_sum += (y_hat.argmax(dim=1) == y).sum().item()
            n += y.shape[0]
        test_acc = evaluate_accuracy(test_iter, net)
        print('epoch %d, loss %.4f, train acc %.3f, test acc %.3f'  # noqa: UP031 - the book's line
              % (epoch + 1, train_l_sum / n, train_acc_sum / n, test_acc))


class FlattenLayer(nn.Module):
    def forward(self, x):
        return x.view(x.shape[0], -1)
