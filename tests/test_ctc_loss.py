"""CTC loss (``symnet/nn/ctc.py``): values and gradients against PyTorch 2.13, float64 gradients against finite
differences, PyTorch's refusals, and a compiled training step equal to the eager loop.

PyTorch's numbers are stored below as literals (made once by a scratch script with torch; no torch here). The
log-probabilities come from ``log_probs``'s formula, which that script used too. PyTorch's CTC gradient is the
loss's derivative plus exp(log_probs) inside each input (``ctc._pytorch_gradient``), so the finite differences are
checked through a log_softmax, where the two agree, and that extra term on its own.
"""

from __future__ import annotations

import os
import warnings
from math import inf, nan

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F

#: name: (T, N (None: unbatched), C, phase of the logits, targets, input_lengths, target_lengths, blank,
#: zero_infinity). Padding past a target's length is any value (-1, 99); "repeats" needs a blank between equal
#: labels; "impossible" has a target longer than its input allows (inf, as PyTorch) and an empty one;
#: "blank_last_empty_input" has the last class as blank, label 0 in a target and an empty target of an empty input
CASES = {
    "padded": (5, 3, 4, 0.0, [[1, 2, 3], [3, 3, -1], [2, 99, 99]], [5, 5, 4], [3, 2, 1], 0, False),
    "concatenated": (5, 3, 4, 0.0, [1, 2, 3, 3, 3, 2], [5, 5, 4], [3, 2, 1], 0, False),
    "repeats": (6, 2, 4, 1.0, [[2, 2, 2], [1, 3, 3]], [6, 5], [3, 3], 0, False),
    "impossible": (5, 3, 4, 2.0, [[1, 1, 1], [2, 3, 0], [3, 0, 0]], [4, 5, 5], [3, 2, 0], 0, False),
    "impossible_zero_infinity": (5, 3, 4, 2.0, [[1, 1, 1], [2, 3, 0], [3, 0, 0]], [4, 5, 5], [3, 2, 0], 0, True),
    "blank_last_empty_input": (5, 3, 4, 3.0, [0, 2, 1, 1, 2], [5, 0, 3], [3, 0, 2], 3, False),
    "unbatched": (5, None, 4, 4.0, [3, 1, 3], [5], [3], 0, False),
}
#: the gradient of reduction='none' is taken of Σ upstream·loss
UPSTREAM = [1.0, -0.5, 2.0]

#: (case, dtype, reduction): (loss, gradient w.r.t. log_probs, flattened), as PyTorch 2.13 computes them on the CPU
EXPECTED = {
    ("padded", "float64", "none"): ([3.8529797623, 3.507358543, 2.8861197073], [-0.082618870156, -0.6802873139,
        0.29834884907, 0.46455733499, 0.1885744914, -0.1558559623, -0.11211361768, 0.079395088586, -0.66199770062,
        0.51487905612, -0.0038674575779, 0.15098610207, -0.042471827801, -0.19974512218, -0.12594138198,
        0.36815833196, -0.0021001207999, -0.067732324423, -0.13947080171, 0.20930324693, -0.32605784418,
        0.5855154871, -0.64877535238, 0.38931770946, -0.023986196867, 0.14490695853, -0.16464881645, 0.043728054786,
        0.12947463839, -0.111533938, -0.10512053097, 0.087179830576, -0.13376468753, 0.25495497223, -1.2041080725,
        1.0829177878, 0.019725723281, 0.25154272977, -0.24842816464, -0.022840288405, 0.20623020172, -0.14376675358,
        -0.072079196581, 0.0096157484388, -0.59917206384, 0.48462187378, -0.22015360512, 0.33470379517,
        0.041402553633, 0.1349459234, 0.25417280906, -0.43052128609, -0.042728342157, -0.10141328984,
        -0.15601010251, 0.30015173451, 0, 0, 0, 0]),
    ("padded", "float64", "sum"): (10.246458013, [-0.082618870156, -0.6802873139, 0.29834884907, 0.46455733499,
        -0.3771489828, 0.31171192461, 0.22422723536, -0.15879017717, -0.33099885031, 0.25743952806,
        -0.0019337287889, 0.075493051037, -0.042471827801, -0.19974512218, -0.12594138198, 0.36815833196,
        0.0042002415998, 0.13546464885, 0.27894160341, -0.41860649386, -0.16302892209, 0.29275774355,
        -0.32438767619, 0.19465885473, -0.023986196867, 0.14490695853, -0.16464881645, 0.043728054786,
        -0.25894927678, 0.22306787599, 0.21024106194, -0.17435966115, -0.066882343764, 0.12747748611,
        -0.60205403623, 0.54145889388, 0.019725723281, 0.25154272977, -0.24842816464, -0.022840288405,
        -0.41246040344, 0.28753350716, 0.14415839316, -0.019231496878, -0.29958603192, 0.24231093689,
        -0.11007680256, 0.16735189759, 0.041402553633, 0.1349459234, 0.25417280906, -0.43052128609, 0.085456684315,
        0.20282657968, 0.31202020503, -0.60030346902, 0, 0, 0, 0]),
    ("padded", "float64", "mean"): (1.9747085221, [-0.0091798744618, -0.075587479322, 0.033149872119,
        0.051617481665, -0.0628581638, 0.051951987434, 0.037371205894, -0.026465029529, -0.1103329501,
        0.085813176021, -0.00064457626298, 0.025164350346, -0.0047190919778, -0.022193902464, -0.013993486887,
        0.040906481329, 0.00070004026663, 0.022577441474, 0.046490267235, -0.069767748976, -0.054342974029,
        0.097585914517, -0.1081292254, 0.06488628491, -0.0026651329853, 0.01610077317, -0.018294312939,
        0.004858672754, -0.043158212797, 0.037177979332, 0.035040176991, -0.029059943525, -0.022294114588,
        0.042492495371, -0.20068467874, 0.18048629796, 0.0021917470312, 0.027949192196, -0.027603129405,
        -0.0025378098227, -0.068743400574, 0.047922251193, 0.02402639886, -0.0032052494796, -0.09986201064,
        0.080770312297, -0.03669226752, 0.055783965862, 0.004600283737, 0.014993991489, 0.028241423229,
        -0.047835698455, 0.014242780719, 0.033804429946, 0.052003367505, -0.10005057817, 0, 0, 0, 0]),
    ("padded", "float32", "none"): ([3.8529799, 3.5073586, 2.8861194], [-0.082618862, -0.68028706, 0.29834884,
        0.46455735, 0.18857457, -0.15585595, -0.11211362, 0.079395078, -0.66199708, 0.51487905, -0.003867507,
        0.15098609, -0.042471826, -0.19974524, -0.12594138, 0.36815834, -0.0021001194, -0.067732327, -0.1394708,
        0.20930335, -0.32605788, 0.5855155, -0.64877504, 0.38931772, -0.02398634, 0.14490697, -0.16464876,
        0.043728054, 0.12947462, -0.11153394, -0.10512053, 0.087179765, -0.13376471, 0.25495499, -1.2041082,
        1.0829178, 0.019725814, 0.25154272, -0.2484282, -0.022840142, 0.20623016, -0.14376676, -0.072079197,
        0.0096157528, -0.59917164, 0.48462188, -0.22015348, 0.33470377, 0.041402575, 0.13494594, 0.25417283,
        -0.43052149, -0.04272835, -0.10141329, -0.15601011, 0.30015165, 0, 0, 0, 0]),
    ("padded", "float32", "sum"): (10.246458, [-0.082618862, -0.68028706, 0.29834884, 0.46455735, -0.37714913,
        0.31171191, 0.22422725, -0.15879016, -0.33099854, 0.25743952, -0.0019337535, 0.075493045, -0.042471826,
        -0.19974524, -0.12594138, 0.36815834, 0.0042002387, 0.13546465, 0.2789416, -0.4186067, -0.16302894,
        0.29275775, -0.32438752, 0.19465886, -0.02398634, 0.14490697, -0.16464876, 0.043728054, -0.25894925,
        0.22306788, 0.21024106, -0.17435953, -0.066882357, 0.1274775, -0.60205412, 0.5414589, 0.019725814,
        0.25154272, -0.2484282, -0.022840142, -0.41246033, 0.28753352, 0.14415839, -0.019231506, -0.29958582,
        0.24231094, -0.11007674, 0.16735189, 0.041402575, 0.13494594, 0.25417283, -0.43052149, 0.085456699,
        0.20282659, 0.31202021, -0.60030329, 0, 0, 0, 0]),
    ("padded", "float32", "mean"): (1.9747084, [-0.0091798734, -0.075587451, 0.033149872, 0.051617485, -0.062858194,
        0.051951986, 0.037371211, -0.026465027, -0.11033285, 0.08581318, -0.00064458454, 0.025164349, -0.004719092,
        -0.022193916, -0.013993487, 0.040906481, 0.00070003979, 0.022577442, 0.046490267, -0.069767788,
        -0.054342981, 0.097585917, -0.10812917, 0.064886287, -0.0026651488, 0.016100774, -0.018294306, 0.0048586726,
        -0.043158211, 0.03717798, 0.035040177, -0.029059922, -0.022294119, 0.042492501, -0.20068471, 0.18048631,
        0.0021917571, 0.027949192, -0.027603133, -0.0025377937, -0.068743393, 0.047922254, 0.024026399,
        -0.0032052509, -0.099861942, 0.080770314, -0.036692247, 0.055783965, 0.004600286, 0.014993994, 0.028241426,
        -0.047835723, 0.014242783, 0.033804432, 0.052003369, -0.10005055, 0, 0, 0, 0]),
    ("repeats", "float64", "none"): ([5.8019566676, 3.9558595654], [0.208767748, 0.28140031103, -0.71073423916,
        0.22056618012, -0.2628806546, 0.36143895094, -0.066082474331, -0.032475822013, -0.64658467824,
        0.23079217897, 0.18909921802, 0.22669328125, -0.035468280058, -0.06226617939, -0.12980829833, 0.22754275777,
        0.12173734741, 0.23582728257, -0.66923007014, 0.31166544016, 0.25499261124, -0.14694069338, -0.076244974224,
        -0.031806943635, -0.512724026, 0.2457826305, 0.12235525428, 0.14458614121, -0.025561625521, -0.070261910621,
        -0.12613671934, 0.22196025548, -0.0070464877008, 0.18832481944, -0.58593285967, 0.40465452793,
        0.18275727874, -0.15489048619, -0.09442116115, 0.0665543686, -0.19090862047, 0.2523401239, -0.1567069303,
        0.095275426867, 0, 0, 0, 0]),
    ("repeats", "float64", "sum"): (9.757816233, [0.208767748, 0.28140031103, -0.71073423916, 0.22056618012,
        0.52576130919, -0.72287790188, 0.13216494866, 0.064951644026, -0.64658467824, 0.23079217897, 0.18909921802,
        0.22669328125, 0.070936560116, 0.12453235878, 0.25961659665, -0.45508551555, 0.12173734741, 0.23582728257,
        -0.66923007014, 0.31166544016, -0.50998522247, 0.29388138676, 0.15248994845, 0.063613887269, -0.512724026,
        0.2457826305, 0.12235525428, 0.14458614121, 0.051123251042, 0.14052382124, 0.25227343868, -0.44392051096,
        -0.0070464877008, 0.18832481944, -0.58593285967, 0.40465452793, -0.36551455748, 0.30978097238, 0.1888423223,
        -0.1331087372, -0.19090862047, 0.2523401239, -0.1567069303, 0.095275426867, 0, 0, 0, 0]),
    ("repeats", "float64", "mean"): (1.6263027055, [0.034794624667, 0.046900051839, -0.11845570653, 0.03676103002,
        0.087626884866, -0.12047965031, 0.022027491444, 0.010825274004, -0.10776411304, 0.038465363161,
        0.031516536337, 0.037782213541, 0.011822760019, 0.02075539313, 0.043269432775, -0.075847585925,
        0.020289557901, 0.039304547096, -0.11153834502, 0.051944240026, -0.084997537079, 0.048980231126,
        0.025414991408, 0.010602314545, -0.085454004333, 0.040963771751, 0.020392542381, 0.024097690202,
        0.0085205418404, 0.023420636874, 0.042045573113, -0.073986751827, -0.0011744146168, 0.031387469907,
        -0.097655476611, 0.067442421321, -0.060919092913, 0.051630162063, 0.031473720383, -0.022184789533,
        -0.031818103411, 0.042056687317, -0.026117821717, 0.015879237811, 0, 0, 0, 0]),
    ("impossible", "float64", "none"): ([inf, 2.9340705947, 7.8635163073], [nan, nan, nan, nan, 0.074775489187,
        -0.12417483333, 0.11207049119, -0.062671147048, -1.7832103545, 0.2951254375, 0.50097581252, 0.98710910448,
        nan, nan, nan, nan, 0.0087330690368, -0.15603467914, 0.17530659425, -0.028004984147, -0.94865738403,
        0.50849796227, 0.26953610066, 0.1706233211, nan, nan, nan, nan, -0.007630810321, -0.071941085973,
        0.029117162428, 0.050454733866, -1.4398029414, 0.60828683676, 0.50422948732, 0.32728661733, nan, nan, nan,
        nan, 0.016628389293, -0.10530683025, -0.097710734205, 0.18638917517, -1.8695694414, 0.25798180216,
        0.53839755461, 1.0731900847, 0, 0, 0, 0, 0.17238614256, -0.13958226082, -0.06782813422, 0.035024252479,
        -1.2611347263, 0.47143000639, 0.38280509672, 0.40689962321]),
    ("impossible", "float64", "sum"): (inf, [nan, nan, nan, nan, -0.14955097837, 0.24834966666, -0.22414098238,
        0.1253422941, -0.89160517725, 0.14756271875, 0.25048790626, 0.49355455224, nan, nan, nan, nan,
        -0.017466138074, 0.31206935828, -0.3506131885, 0.056009968295, -0.47432869201, 0.25424898114, 0.13476805033,
        0.085311660548, nan, nan, nan, nan, 0.015261620642, 0.14388217195, -0.058234324857, -0.10090946773,
        -0.7199014707, 0.30414341838, 0.25211474366, 0.16364330866, nan, nan, nan, nan, -0.033256778585,
        0.21061366051, 0.19542146841, -0.37277835033, -0.93478472072, 0.12899090108, 0.26919877731, 0.53659504234,
        0, 0, 0, 0, -0.34477228511, 0.27916452163, 0.13565626844, -0.070048504959, -0.63056736316, 0.23571500319,
        0.19140254836, 0.2034498116]),
    ("impossible", "float64", "mean"): (inf, [nan, nan, nan, nan, -0.024925163062, 0.041391611109, -0.037356830396,
        0.020890382349, -0.29720172575, 0.049187572916, 0.083495968754, 0.16451818408, nan, nan, nan, nan,
        -0.0029110230123, 0.052011559713, -0.058435531417, 0.0093349947158, -0.158109564, 0.084749660379,
        0.044922683443, 0.028437220183, nan, nan, nan, nan, 0.0025436034403, 0.023980361991, -0.0097057208094,
        -0.016818244622, -0.2399671569, 0.10138113946, 0.084038247887, 0.054547769555, nan, nan, nan, nan,
        -0.0055427964309, 0.035102276751, 0.032570244735, -0.062129725055, -0.31159490691, 0.042996967026,
        0.089732925768, 0.17886501411, 0, 0, 0, 0, -0.057462047519, 0.046527420272, 0.022609378073, -0.011674750826,
        -0.21018912105, 0.078571667731, 0.063800849453, 0.067816603868]),
    ("impossible_zero_infinity", "float64", "none"): ([0, 2.9340705947, 7.8635163073], [0, 0, 0, 0, 0.074775489187,
        -0.12417483333, 0.11207049119, -0.062671147048, -1.7832103545, 0.2951254375, 0.50097581252, 0.98710910448,
        0, 0, 0, 0, 0.0087330690368, -0.15603467914, 0.17530659425, -0.028004984147, -0.94865738403, 0.50849796227,
        0.26953610066, 0.1706233211, 0, 0, 0, 0, -0.007630810321, -0.071941085973, 0.029117162428, 0.050454733866,
        -1.4398029414, 0.60828683676, 0.50422948732, 0.32728661733, 0, 0, 0, 0, 0.016628389293, -0.10530683025,
        -0.097710734205, 0.18638917517, -1.8695694414, 0.25798180216, 0.53839755461, 1.0731900847, 0, 0, 0, 0,
        0.17238614256, -0.13958226082, -0.06782813422, 0.035024252479, -1.2611347263, 0.47143000639, 0.38280509672,
        0.40689962321]),
    ("impossible_zero_infinity", "float64", "sum"): (10.797586902, [0, 0, 0, 0, -0.14955097837, 0.24834966666,
        -0.22414098238, 0.1253422941, -0.89160517725, 0.14756271875, 0.25048790626, 0.49355455224, 0, 0, 0, 0,
        -0.017466138074, 0.31206935828, -0.3506131885, 0.056009968295, -0.47432869201, 0.25424898114, 0.13476805033,
        0.085311660548, 0, 0, 0, 0, 0.015261620642, 0.14388217195, -0.058234324857, -0.10090946773, -0.7199014707,
        0.30414341838, 0.25211474366, 0.16364330866, 0, 0, 0, 0, -0.033256778585, 0.21061366051, 0.19542146841,
        -0.37277835033, -0.93478472072, 0.12899090108, 0.26919877731, 0.53659504234, 0, 0, 0, 0, -0.34477228511,
        0.27916452163, 0.13565626844, -0.070048504959, -0.63056736316, 0.23571500319, 0.19140254836, 0.2034498116]),
    ("impossible_zero_infinity", "float64", "mean"): (3.1101838682, [0, 0, 0, 0, -0.024925163062, 0.041391611109,
        -0.037356830396, 0.020890382349, -0.29720172575, 0.049187572916, 0.083495968754, 0.16451818408, 0, 0, 0, 0,
        -0.0029110230123, 0.052011559713, -0.058435531417, 0.0093349947158, -0.158109564, 0.084749660379,
        0.044922683443, 0.028437220183, 0, 0, 0, 0, 0.0025436034403, 0.023980361991, -0.0097057208094,
        -0.016818244622, -0.2399671569, 0.10138113946, 0.084038247887, 0.054547769555, 0, 0, 0, 0, -0.0055427964309,
        0.035102276751, 0.032570244735, -0.062129725055, -0.31159490691, 0.042996967026, 0.089732925768,
        0.17886501411, 0, 0, 0, 0, -0.057462047519, 0.046527420272, 0.022609378073, -0.011674750826, -0.21018912105,
        0.078571667731, 0.063800849453, 0.067816603868]),
    ("impossible_zero_infinity", "float32", "none"): ([0, 2.9340703, 7.8635163], [0, 0, 0, 0, 0.074775383,
        -0.12417483, 0.11207044, -0.062671147, -1.7832103, 0.29512542, 0.50097579, 0.98710912, 0, 0, 0, 0,
        0.0087329596, -0.15603468, 0.17530639, -0.028004996, -0.94865716, 0.50849795, 0.26953608, 0.17062332, 0, 0,
        0, 0, -0.0076307841, -0.071941093, 0.029117048, 0.050454557, -1.4398026, 0.60828686, 0.50422949, 0.3272866,
        0, 0, 0, 0, 0.01662837, -0.10530683, -0.097710729, 0.18638909, -1.8695685, 0.25798181, 0.53839755,
        1.0731901, 0, 0, 0, 0, 0.17238614, -0.13958226, -0.067828134, 0.035024248, -1.2611341, 0.47143003,
        0.38280511, 0.40689963]),
    ("impossible_zero_infinity", "float32", "sum"): (10.797586, [0, 0, 0, 0, -0.14955077, 0.24834965, -0.22414088,
        0.12534229, -0.89160514, 0.14756271, 0.25048789, 0.49355456, 0, 0, 0, 0, -0.017465919, 0.31206936,
        -0.35061279, 0.056009993, -0.47432858, 0.25424898, 0.13476804, 0.085311659, 0, 0, 0, 0, 0.015261568,
        0.14388219, -0.058234096, -0.10090911, -0.71990132, 0.30414343, 0.25211474, 0.1636433, 0, 0, 0, 0,
        -0.033256739, 0.21061365, 0.19542146, -0.37277818, -0.93478423, 0.1289909, 0.26919878, 0.53659505, 0, 0, 0,
        0, -0.34477228, 0.27916452, 0.13565627, -0.070048496, -0.63056707, 0.23571502, 0.19140255, 0.20344982]),
    ("impossible_zero_infinity", "float32", "mean"): (3.1101837, [0, 0, 0, 0, -0.024925128, 0.041391611,
        -0.037356816, 0.020890383, -0.29720172, 0.049187571, 0.083495967, 0.16451819, 0, 0, 0, 0, -0.0029109865,
        0.052011561, -0.058435466, 0.0093349991, -0.15810953, 0.084749661, 0.04492268, 0.02843722, 0, 0, 0, 0,
        0.0025435947, 0.023980364, -0.0097056832, -0.016818186, -0.23996711, 0.10138115, 0.08403825, 0.054547768, 0,
        0, 0, 0, -0.0055427901, 0.035102278, 0.032570243, -0.062129699, -0.31159475, 0.042996969, 0.08973293,
        0.17886502, 0, 0, 0, 0, -0.057462048, 0.046527423, 0.022609379, -0.01167475, -0.21018903, 0.078571677,
        0.063800856, 0.067816608]),
    ("blank_last_empty_input", "float64", "none"): ([3.1543743046, -0, 3.4488623524], [-0.42412035912,
        0.25653444372, 0.13077279321, 0.036813122189, 0, 0, 0, 0, 0.13251535328, -0.71382025546, 0.56204138496,
        0.019263517211, -0.06181717882, 0.29610615201, -0.22509226045, -0.0091967127407, 0, 0, 0, 0, 0.59046425285,
        -0.84084670464, 0.040188215171, 0.21019423662, 0.052469881776, 0.081168699988, -0.23178428197,
        0.098145700203, 0, 0, 0, 0, 1.009940599, 0.57071676749, -1.5911203277, 0.010462961153, 0.40278248827,
        -0.19907213374, -0.14491826901, -0.058792085516, 0, 0, 0, 0, 0, 0, 0, 0, 0.43963917284, -0.59345741423,
        0.1713122955, -0.0174940541, 0, 0, 0, 0, 0, 0, 0, 0]),
    ("blank_last_empty_input", "float64", "sum"): (6.603236657, [-0.42412035912, 0.25653444372, 0.13077279321,
        0.036813122189, 0, 0, 0, 0, 0.066257676641, -0.35691012773, 0.28102069248, 0.0096317586055, -0.06181717882,
        0.29610615201, -0.22509226045, -0.0091967127407, 0, 0, 0, 0, 0.29523212643, -0.42042335232, 0.020094107586,
        0.10509711831, 0.052469881776, 0.081168699988, -0.23178428197, 0.098145700203, 0, 0, 0, 0, 0.50497029952,
        0.28535838374, -0.79556016384, 0.0052314805763, 0.40278248827, -0.19907213374, -0.14491826901,
        -0.058792085516, 0, 0, 0, 0, 0, 0, 0, 0, 0.43963917284, -0.59345741423, 0.1713122955, -0.0174940541, 0, 0,
        0, 0, 0, 0, 0, 0]),
    ("blank_last_empty_input", "float64", "mean"): (0.92529642591, [-0.047124484347, 0.02850382708, 0.014530310357,
        0.0040903469099, 0, 0, 0, 0, 0.011042946107, -0.059485021288, 0.04683678208, 0.0016052931009,
        -0.0068685754245, 0.032900683557, -0.025010251161, -0.0010218569712, 0, 0, 0, 0, 0.049205354404,
        -0.07007055872, 0.0033490179309, 0.017516186385, 0.005829986864, 0.0090187444431, -0.025753809107,
        0.0109050778, 0, 0, 0, 0, 0.084161716587, 0.047559730624, -0.13259336064, 0.00087191342939, 0.044753609808,
        -0.022119125971, -0.01610202989, -0.0065324539462, 0, 0, 0, 0, 0, 0, 0, 0, 0.048848796982, -0.065939712692,
        0.019034699499, -0.0019437837889, 0, 0, 0, 0, 0, 0, 0, 0]),
    ("unbatched", "float64", "none"): (3.7667879054, [-0.13675269156, 0.22831087019, 0.20344201991, -0.29500019854,
        0.024101813709, -0.045896089657, 0.26076457004, -0.23897029409, 0.03377584894, -0.35196871923, 0.3081329233,
        0.010059946985, 0.11519690465, -0.15618114603, 0.14944479696, -0.10846055559, 0.21666850217, 0.24471221821,
        0.16971469216, -0.63109541254]),
    ("unbatched", "float64", "sum"): (3.7667879054, [-0.13675269156, 0.22831087019, 0.20344201991, -0.29500019854,
        0.024101813709, -0.045896089657, 0.26076457004, -0.23897029409, 0.03377584894, -0.35196871923, 0.3081329233,
        0.010059946985, 0.11519690465, -0.15618114603, 0.14944479696, -0.10846055559, 0.21666850217, 0.24471221821,
        0.16971469216, -0.63109541254]),
    ("unbatched", "float64", "mean"): (1.2555959685, [-0.045584230521, 0.076103623398, 0.067814006636,
        -0.098333399513, 0.0080339379031, -0.015298696552, 0.086921523346, -0.079656764697, 0.011258616313,
        -0.11732290641, 0.10271097443, 0.0033533156618, 0.038398968217, -0.052060382008, 0.049814932321,
        -0.03615351853, 0.072222834056, 0.081570739405, 0.056571564052, -0.21036513751]),
    ("unbatched", "float32", "none"): (3.7667875, [-0.13675269, 0.22831088, 0.20344202, -0.29500008, 0.024101853,
        -0.045895979, 0.26076457, -0.23897022, 0.033775926, -0.35196835, 0.30813292, 0.010059953, 0.11519706,
        -0.1561811, 0.14944479, -0.10846055, 0.21666861, 0.24471222, 0.16971469, -0.63109535]),
    ("unbatched", "float32", "sum"): (3.7667875, [-0.13675269, 0.22831088, 0.20344202, -0.29500008, 0.024101853,
        -0.045895979, 0.26076457, -0.23897022, 0.033775926, -0.35196835, 0.30813292, 0.010059953, 0.11519706,
        -0.1561811, 0.14944479, -0.10846055, 0.21666861, 0.24471222, 0.16971469, -0.63109535]),
    ("unbatched", "float32", "mean"): (1.2555958, [-0.045584232, 0.076103628, 0.067814007, -0.098333359,
        0.0080339517, -0.01529866, 0.086921528, -0.079656743, 0.011258642, -0.11732279, 0.10271098, 0.0033533177,
        0.038399022, -0.052060366, 0.049814932, -0.036153518, 0.072222874, 0.081570745, 0.056571566, -0.21036512]),
}
#: the concatenated targets are the padded case's targets in the other form: PyTorch gives them its numbers exactly
EXPECTED.update({("concatenated", dtype, reduction): value for (case, dtype, reduction), value in EXPECTED.items()
                 if case == "padded" and dtype == "float64"})
RTOL = {"float64": 1e-6, "float32": 1e-4}


def log_probs(steps: int, batch: int, classes: int, phase: float) -> np.ndarray:
    """log_softmax of smooth logits, in NumPy float64 (the fixtures' inputs)."""
    logits = 2.0 * np.sin(0.37 * np.arange(steps * batch * classes) + phase).reshape(steps, batch, classes)
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def inputs(name: str, dtype: str) -> tuple[sn.Tensor, tuple, dict]:
    """The case's log_probs (a leaf requiring grad) and the rest of its arguments."""
    steps, batch, classes, phase, targets, input_lengths, target_lengths, blank, zero_infinity = CASES[name]
    lp = log_probs(steps, batch or 1, classes, phase)
    x = sn.tensor(lp if batch else lp[:, 0], dtype=getattr(sn, dtype), requires_grad=True)
    lengths = sn.tensor(input_lengths), sn.tensor(target_lengths)
    return x, (sn.tensor(targets), *lengths), {"blank": blank, "zero_infinity": zero_infinity}


def close(actual: np.ndarray, expected: np.ndarray, rtol: float, what: str) -> None:
    scale = max(float(np.abs(expected[np.isfinite(expected)]).max(initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


#: every stored case with SYMNET_DEEP=1 (each run derives its own unrolled recursion); in CI every case's per-sample
#: losses in float64, the reductions of two cases, and float32 (native code) for the padded targets
RUNS = [k for k in EXPECTED if os.environ.get("SYMNET_DEEP") == "1" or k[0] == "padded"
        or k[1] == "float64" and (k[2] == "none" or k[0] == "impossible_zero_infinity")]


@pytest.mark.parametrize(("name", "dtype", "reduction"), RUNS, ids=["-".join(k) for k in RUNS])
def test_matches_pytorch(name, dtype, reduction):
    """float64 on the reference backend (the derivation is what is checked), float32 in native code."""
    x, args, kwargs = inputs(name, dtype)
    with sn.backend.use("reference" if dtype == "float64" else "native"):
        loss = F.ctc_loss(x, *args, reduction=reduction, **kwargs)
        batched = CASES[name][1] is not None
        upstream = UPSTREAM[:x.shape[1]] if reduction == "none" and batched else 1.0
        (loss * sn.tensor(upstream, dtype=x.dtype)).sum().backward()
    value, grad = (np.asarray(v, np.float64) for v in EXPECTED[name, dtype, reduction])
    assert loss.dtype == x.dtype and loss.shape == value.shape
    close(loss.numpy(), value, RTOL[dtype], "loss")
    grad = grad.reshape(x.shape)
    finite = np.isfinite(grad)  # PyTorch's gradient of an infinite loss is NaN; symnet's is finite
    assert np.isfinite(x.grad.numpy()).all()
    close(x.grad.numpy()[finite], grad[finite], RTOL[dtype], "gradient")


def test_every_fixture_case_is_checked():
    assert {name for name, _, _ in EXPECTED} == set(CASES)
    assert {(d, r) for _, d, r in EXPECTED} == {(d, r) for d in RTOL for r in ("none", "sum", "mean")}


def test_the_module_is_the_function():
    x, (targets, input_lengths, target_lengths), _ = inputs("repeats", "float64")
    module = sn.nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    assert (module.blank, module.reduction, module.zero_infinity) == (0, "sum", True)
    assert repr(module) == "CTCLoss()" and not module.state_dict()
    np.testing.assert_array_equal(module(x, targets, input_lengths, target_lengths).numpy(),
                                  F.ctc_loss(x, targets, input_lengths, target_lengths, reduction="sum").numpy())
    assert sn.nn.CTCLoss().reduction == "mean" and "CTCLoss" in sn.nn.__all__


def test_lengths_and_targets_in_every_form_pytorch_takes():
    """Tuples, lists of 0-d tensors, a (1, N) lengths tensor, whole-valued float and bool targets: the same loss."""
    x, (targets, input_lengths, target_lengths), _ = inputs("padded", "float64")
    want = F.ctc_loss(x, targets, input_lengths, target_lengths, reduction="none").numpy()
    il, tl = input_lengths.tolist(), target_lengths.tolist()
    for args in ((targets, tuple(il), tuple(tl)), (targets, [sn.tensor(n) for n in il], tl),
                 (targets, input_lengths.reshape(1, 3), target_lengths), (targets.double(), il, tl)):
        np.testing.assert_array_equal(F.ctc_loss(x, *args, reduction="none").numpy(), want)
    bits = sn.tensor([[True, False], [False, True]])
    np.testing.assert_array_equal(F.ctc_loss(x[:, :2], bits, [5, 5], [2, 2], reduction="none").numpy(),
                                  F.ctc_loss(x[:, :2], bits.long(), [5, 5], [2, 2], reduction="none").numpy())


def test_an_empty_target_of_an_empty_input_costs_nothing_and_of_a_longer_target_is_infinite():
    x = sn.tensor(log_probs(3, 2, 3, 0.5), requires_grad=True)
    loss = F.ctc_loss(x, sn.tensor([[1], [1]]), [0, 0], [0, 1], reduction="none")
    assert loss.tolist() == [0.0, float("inf")]
    F.ctc_loss(x, sn.tensor([[1], [1]]), [0, 0], [0, 1], reduction="sum", zero_infinity=True).backward()
    assert not x.grad.numpy().any()  # neither input has a step


def test_gradient_against_finite_differences_through_log_softmax():
    targets, lengths = sn.tensor([[1, 1], [2, 0]]), (sn.tensor([4, 3]), sn.tensor([2, 1]))
    logits = sn.tensor(np.sin(np.arange(24.0)).reshape(4, 2, 3))
    with sn.backend.use("reference"):
        sn.check_grads(lambda z: F.ctc_loss(z.log_softmax(2), targets, *lengths, reduction="none"), [logits],
                       order=1)


def test_the_gradient_is_the_derivative_plus_pytorchs_exp_log_probs_term():
    """d loss/d log_probs by central differences, plus exp(log_probs) where t < input_length, is PyTorch's
    gradient (its kernel's), which symnet returns."""
    lp = log_probs(4, 2, 3, 1.5)
    targets, input_lengths, target_lengths = sn.tensor([[1, 2], [2, 2]]), [4, 3], [2, 1]

    def loss(a: np.ndarray) -> float:
        return F.ctc_loss(sn.tensor(a), targets, input_lengths, target_lengths, reduction="sum").item()

    numeric = np.zeros_like(lp)
    eps = 1e-6
    for i in np.ndindex(lp.shape):
        step = np.zeros_like(lp)
        step[i] = eps
        numeric[i] = (loss(lp + step) - loss(lp - step)) / (2 * eps)
    x = sn.tensor(lp, requires_grad=True)
    F.ctc_loss(x, targets, input_lengths, target_lengths, reduction="sum").backward()
    inside = np.arange(4)[:, None, None] < np.array(input_lengths)[None, :, None]
    np.testing.assert_allclose(x.grad.numpy(), numeric + np.exp(lp) * inside, rtol=1e-6, atol=1e-8)
    assert abs(x.grad.numpy().sum(2)).max() < 1e-12  # so it sums to 0 over the classes, as PyTorch's


def test_masked_and_impossible_states_leak_no_nan():
    """Long padding, short inputs, a class of probability 0 nowhere on a path, an impossible sample: every value is
    finite or inf where PyTorch's is, and every gradient is finite."""
    lp = log_probs(6, 3, 5, 0.3)
    lp[:, :, 4] = -np.inf  # a class no target uses
    x = sn.tensor(lp, requires_grad=True)
    targets = sn.tensor([[1, 1, 2, 3, 3, 1, 2, 2], [2, 0, 0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 0, 0, 0, 0]])
    for zero_infinity in (False, True):
        x.grad = None
        loss = F.ctc_loss(x, targets, [6, 2, 6], [3, 1, 4], reduction="none", zero_infinity=zero_infinity)
        (loss * sn.tensor([1.0, 2.0, 3.0], dtype=sn.float64)).sum().backward()
        assert np.isfinite(loss.numpy()[:2]).all() and loss.numpy()[2] == (0.0 if zero_infinity else np.inf)
        assert np.isfinite(x.grad.numpy()).all()
        if zero_infinity:
            assert not x.grad.numpy()[:, 2].any()


def _x(*shape, dtype=sn.float64):
    return sn.tensor(np.full(shape, -1.0), dtype=dtype)


PADDED = sn.tensor([[1, 2, 1], [3, 3, 0]])
ERRORS = [  # (call, exception type, words): PyTorch's refusals, and what PyTorch reads out of bounds
    ("log_probs_4d", lambda: F.ctc_loss(_x(1, 5, 2, 4), PADDED, [5, 5], [3, 2]), RuntimeError,
     r"expected log_probs of shape \(T, N, C\) or \(T, C\), got 4-d"),
    ("log_probs_1d", lambda: F.ctc_loss(_x(5), PADDED, [5, 5], [3, 2]), RuntimeError, "got 1-d"),
    ("log_probs_integer", lambda: F.ctc_loss(sn.tensor(np.zeros((5, 2, 4), np.int64)), PADDED, [5, 5], [3, 2]),
     NotImplementedError, "not implemented for int64"),
    ("log_probs_empty", lambda: F.ctc_loss(_x(0, 2, 4), PADDED, [0, 0], [0, 0]), RuntimeError,
     "log_probs tensor must not be empty"),
    ("blank_classes", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5, 5], [3, 2], blank=4), RuntimeError,
     "blank must be in label range"),
    ("blank_negative", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5, 5], [3, 2], blank=-1), RuntimeError,
     "blank must be in label range"),
    ("input_longer_than_T", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [6, 5], [3, 2]), RuntimeError,
     "Expected input_lengths to have value at most 5, but got value 6"),
    ("input_negative", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [-1, 5], [3, 2]), RuntimeError,
     "Expected input_lengths to have value at least 0, but got value -1"),
    ("target_negative", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5, 5], [3, -1]), RuntimeError,
     "Expected target_lengths to have value at least 0, but got value -1"),
    ("target_longer_than_padding", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5, 5], [4, 2]), RuntimeError,
     "Expected targets to have size at least 4 at dimension 1, but got size 3"),
    ("concatenated_size", lambda: F.ctc_loss(_x(5, 2, 4), sn.tensor([1, 2, 1, 3]), [5, 5], [3, 2]), RuntimeError,
     "Expected targets to have size 5 at dimension 0"),
    ("unbatched_concatenated_size", lambda: F.ctc_loss(_x(5, 4), sn.tensor([1, 2, 1, 3]), [5], [3]), RuntimeError,
     "Expected targets to have size 3 at dimension 0"),
    ("targets_batch", lambda: F.ctc_loss(_x(5, 2, 4), PADDED[:1], [5, 5], [3, 2]), RuntimeError,
     "Expected targets to have size 2 at dimension 0"),
    ("targets_3d", lambda: F.ctc_loss(_x(5, 2, 4), PADDED.unsqueeze(0), [5, 5], [3, 2]), RuntimeError,
     "Expected targets of 1 to 2 dimensions, but got a 3-d tensor"),
    ("input_lengths_count", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5, 5, 5], [3, 2]), RuntimeError,
     "input_lengths must be of size batch_size"),
    ("target_lengths_count", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5, 5], [3]), RuntimeError,
     "target_lengths must be of size batch_size"),
    ("float_lengths", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, sn.tensor([5.0, 5.0]), sn.tensor([3, 2])),
     RuntimeError, "input_lengths must be integral"),
    ("tensor_and_list_lengths", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5, 5], sn.tensor([3, 2])), TypeError,
     "must both be tensors or both be tuples or lists of ints"),
    ("int_lengths", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, 5, 3), TypeError, "must be a tensor, or a tuple or list"),
    ("float_list_lengths", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5.0, 5.0], [3, 2]), TypeError,
     "input_lengths must be a tensor, or a tuple or list of ints"),
    # PyTorch truncates a fractional float target to another class, and reads a label >= C or < 0 out of bounds
    ("fractional_targets", lambda: F.ctc_loss(_x(5, 2, 4), PADDED + 0.5, [5, 5], [3, 2]), TypeError,
     "targets must be integer class indices, got the value 1.5"),
    ("label_out_of_range", lambda: F.ctc_loss(_x(5, 2, 4), sn.tensor([[1, 4, 1], [3, 3, 0]]), [5, 5], [3, 2]),
     IndexError, "target 4 is out of bounds for 4 classes"),
    ("label_negative", lambda: F.ctc_loss(_x(5, 2, 4), sn.tensor([1, -1, 1, 3, 3]), [5, 5], [3, 2]), IndexError,
     "target -1 is out of bounds"),
    ("reduction", lambda: F.ctc_loss(_x(5, 2, 4), PADDED, [5, 5], [3, 2], reduction="avg"), ValueError,
     "avg is not a valid value for reduction"),
]


@pytest.mark.parametrize(("call", "error", "words"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_refuses_what_pytorch_refuses(call, error, words):
    with pytest.raises(error, match=words):
        call().numpy()


def test_nll_loss_2d_is_nll_loss_with_pytorchs_deprecation():
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead"):
        old = sn.nn.NLLLoss2d(weight=sn.tensor([0.5, 2.0, 1.0], dtype=sn.float64), ignore_index=1, reduction="sum")
    assert isinstance(old, sn.nn.NLLLoss) and repr(old) == "NLLLoss2d()" and list(old.state_dict()) == ["weight"]
    x = sn.tensor(np.sin(np.arange(24.0)).reshape(2, 3, 2, 2)).log_softmax(1)
    target = sn.tensor([[[0, 1], [2, 2]], [[1, 0], [0, 2]]])
    new = sn.nn.NLLLoss(weight=old.weight, ignore_index=1, reduction="sum")
    assert old(x, target).item() == new(x, target).item()


# ---------------------------------------------------------------- inside a compiled training step
STEPS, CLASSES, FEATURES, LONGEST = 6, 4, 2, 3


class Framewise(sn.nn.Module):
    """(N, T, features) → (T, N, C) log-probabilities, as CTC takes them."""

    def __init__(self):
        super().__init__()
        self.linear = sn.nn.Linear(FEATURES, CLASSES).double()
        rng = np.random.default_rng(3)
        self.linear.load_state_dict({"weight": sn.tensor(rng.uniform(-1, 1, (CLASSES, FEATURES))),
                                     "bias": sn.tensor(rng.uniform(-1, 1, CLASSES))})

    def forward(self, x: sn.Tensor) -> sn.Tensor:
        return self.linear(x).log_softmax(2).permute(1, 0, 2)


def ctc_of_rows(out: sn.Tensor, y: sn.Tensor) -> sn.Tensor:
    """Each row of y is (input length, target length, padded target): the lengths come with the batch."""
    return F.ctc_loss(out, y[:, 2:], y[:, 0], y[:, 1], zero_infinity=True)


def _batches(sizes=(3, 3, 2)):
    rng = np.random.default_rng(7)
    for n in sizes:
        x = rng.standard_normal((n, STEPS, FEATURES))
        lengths = np.stack([rng.integers(3, STEPS + 1, n), rng.integers(0, LONGEST + 1, n)], 1)
        yield x, np.concatenate([lengths, rng.integers(1, CLASSES, (n, LONGEST))], 1)


def test_compiled_step_with_lengths_from_the_batch_equals_the_eager_loop():
    batches = list(_batches())
    batches[1][1][0, :2] = [2, 3]  # an impossible row: zero_infinity zeroes it
    eager, compiled = Framewise(), Framewise()
    opt = sn.optim.SGD(eager.parameters(), lr=0.1, momentum=0.9)
    eager_losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = ctc_of_rows(eager(sn.tensor(x)), sn.tensor(y))
        loss.backward()
        opt.step()
        eager_losses.append(loss.item())
    step = sn.compile(compiled, ctc_of_rows, sn.optim.SGD(compiled.parameters(), lr=0.1, momentum=0.9))
    compiled_losses = [step.step(x, y) for x, y in batches]
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-12)
    for (key, a), (_, b) in zip(compiled.state_dict().items(), eager.state_dict().items(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=key)


def test_compiled_step_refuses_concatenated_targets_whose_lengths_come_with_the_batch():
    def concatenated(out, y):
        return F.ctc_loss(out, y[:, 2:].reshape(-1), y[:, 0], y[:, 1])

    model = Framewise()
    step = sn.compile(model, concatenated, sn.optim.SGD(model.parameters(), lr=0.1))
    x, y = next(_batches())
    with pytest.raises(NotImplementedError, match="concatenated .* targets need target_lengths whose values are "
                                                  "known .* pass padded"):
        step.step(x, y)


@pytest.mark.parametrize("backend", ["reference", "native"])
def test_infinite_losses_warn_nothing(backend):
    """No log(0) or ∞ − ∞ is ever evaluated (NumPy would warn on the reference backend)."""
    with warnings.catch_warnings(), sn.backend.use(backend):
        warnings.simplefilter("error")
        x, args, kwargs = inputs("impossible", "float64")
        loss = F.ctc_loss(x, *args, reduction="sum", **kwargs)
        loss.backward()
        assert loss.item() == inf and np.isfinite(x.grad.numpy()).all()
