"""Tests of pidlearn.higher_order: closed forms, invariants, the multiplet search, Dask, the CLI, and agreement with
hoi and THOI.

Peer reference values (ported numbers, computed once in a separate virtual environment, never imported here): on the
data of :func:`peer_data` / :func:`peer_binned` (saved to /tmp as .npy and read by the peers),

* THOI 0.2.42 (PyTorch 2.14.1, float64): ``thoi.measures.gaussian_copula.multi_order_measures(X, 3, 7)`` on the raw
  data (its Gaussian-copula covariance and the Ince et al. bias correction, nats) -> ``THOI_BIAS``; and
  ``multi_order_measures(cov, 3, 7, covmat_precomputed=True, T=None)`` with ``cov`` from
  ``thoi.commons.gaussian_copula_covmat`` (no bias correction) -> ``THOI_NOBIAS``. Columns tc, dtc, o, s.
* hoi 0.0.7 (jax 0.10.2 with ``jax.config.update("jax_enable_x64", True)``): hoi's metric classes store their output
  in a float32 array even in 64-bit mode, so the 64-bit values come from hoi's own entropy functions,
  ``hoi.core.entropies.entropy_gc(x.T, biascorrect=..., copnorm=True)`` (``"gc"``), ``entropy_gc(x.T,
  biascorrect=False, copnorm=False)`` on demeaned data (hoi's ``"gauss"``) and ``entropy_bin(x.T)`` (``"binning"``),
  assembled into TC = Σ H_i − H, DTC = Σ H_{-i} − (n − 1) H, Ω = TC − DTC, S = TC + DTC (bits) -> ``HOI_CORE_*``;
  and ``hoi.metrics.Oinfo(X, multiplets=...).fit(method="gc", biascorrect=...)`` / ``fit(method="binning")`` as
  stored (float32) -> ``HOI_OINFO_*``, compared at float32 precision.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pidlearn import higher_order as ho
from pidlearn.higher_order import (
    co_information,
    dual_total_correlation,
    multiplets,
    o_information,
    o_information_gradients,
    s_information,
    total_correlation,
)

FUNCS = (total_correlation, dual_total_correlation, o_information, s_information)


def peer_data() -> np.ndarray:
    """7 columns, 2000 samples: a redundant triplet (one log-normal), a synergistic cubed sum, a mixed column."""
    rng = np.random.default_rng(20240611)
    n = 2000
    a, b, c, d = rng.standard_normal((4, n))
    return np.column_stack(
        [
            a + 0.5 * rng.standard_normal(n),
            a + 0.7 * rng.standard_normal(n),
            np.exp(a + 0.6 * rng.standard_normal(n)),
            b,
            c,
            (b + c + 0.3 * rng.standard_normal(n)) ** 3,
            d + 0.4 * b,
        ]
    )


def peer_binned() -> np.ndarray:
    """:func:`peer_data` in 3 equal-frequency bins per column (labels 0, 1, 2)."""
    x = peer_data()
    ranks = x.argsort(0, kind="stable").argsort(0, kind="stable")
    return (ranks * 3 // x.shape[0]).astype(np.int64)


PEER_MULTIPLETS = [
    (0, 1, 2),
    (1, 3, 5),
    (4, 5, 6),
    (0, 1, 2, 3),
    (1, 2, 5, 6),
    (3, 4, 5, 6),
    (0, 1, 2, 3, 4),
    (1, 2, 3, 4, 5),
    (0, 1, 2, 3, 4, 5),
    (0, 1, 2, 3, 4, 6),
    (0, 1, 2, 3, 5, 6),
    (0, 1, 2, 4, 5, 6),
    (0, 1, 3, 4, 5, 6),
    (0, 2, 3, 4, 5, 6),
    (1, 2, 3, 4, 5, 6),
    (0, 1, 2, 3, 4, 5, 6),
]
THOI_BIAS = [  # TC, DTC, Ω, S
    (0.8731751615810415, 0.5905421073651099, 0.28263305421593155, 1.4637172689461515),
    (0.34596352274420566, 0.34596067842217587, 2.8443220297935667e-06, 0.6919242011663815),
    (0.3903559803322458, 0.4274930715601568, -0.037137091227911034, 0.8178490518924026),
    (0.8730523449605821, 0.5905849150305811, 0.28246742993000107, 1.4636372599911631),
    (0.3713437166904081, 0.37166675069372923, -0.000323034003321121, 0.7430104673841373),
    (1.6411301175379769, 2.469462888015916, -0.8283327704779391, 4.110593005553893),
    (0.8729251071875949, 0.5906993348751167, 0.28222577231247814, 1.4636244420627116),
    (1.9037201380984847, 2.803151030824256, -0.8994308927257715, 4.706871168922741),
    (2.43849806476497, 3.055408705343609, -0.6169106405786393, 5.493906770108579),
    (0.9485584462885873, 0.6663600315427988, 0.28219841474578855, 1.614918477831386),
    (1.2946595957793539, 0.978751574845304, 0.3159080209340499, 2.273411170624658),
    (1.2630897435313757, 1.0174292531665832, 0.24566049036479254, 2.2805189966979587),
    (2.025190685366514, 2.853923670809218, -0.8287329854427039, 4.879114356175732),
    (2.073621550715684, 2.903118674017027, -0.8294971233013433, 4.976740224732711),
    (1.9793852626185893, 2.8086106375031434, -0.8292253748845542, 4.787995900121732),
    (2.5139122900692974, 3.060470391350716, -0.5465581012814185, 5.574382681420014),
]
THOI_NOBIAS = [  # TC, DTC, Ω, S
    (0.8739262255831635, 0.5912932967430616, 0.2826329288401018, 1.4652195223262252),
    (0.34671458674632766, 0.3467118678001276, 2.7189462000754006e-06, 0.6934264545464552),
    (0.39110704433436777, 0.4282442609381085, -0.03713721660374075, 0.8193513052724763),
    (0.8745547238421415, 0.5920877956667712, 0.28246692817537034, 1.4666425195089126),
    (0.37284609557196746, 0.3731696313299193, -0.00032353575795185385, 0.7460157269018868),
    (1.6426324964195362, 2.470965768652106, -0.8283332722325698, 4.1135982650716425),
    (0.8754294903286765, 0.5932049730316463, 0.28222451729703013, 1.4686344633603228),
    (1.9062245212395663, 2.805656668980786, -0.8994321477412195, 4.711881190220352),
    (2.4422552672990308, 3.059168419167424, -0.6169131518683932, 5.501423686466454),
    (0.9523156488226482, 0.6701197453666136, 0.2821959034560346, 1.6224353941892617),
    (1.2984167983134147, 0.9825112886691187, 0.315905509644296, 2.2809280869825335),
    (1.2668469460654366, 1.021188966990398, 0.2456579790750386, 2.2880359130558343),
    (2.028947887900575, 2.8576833846330327, -0.8287354967324578, 4.886631272533608),
    (2.0773787532497447, 2.906878387840842, -0.8294996345910972, 4.984257141090587),
    (1.9831424651526501, 2.8123703513269582, -0.8292278861743081, 4.795512816479608),
    (2.5191732530093947, 3.0657357512528733, -0.5465624982434787, 5.584909004262268),
]
HOI_CORE_GC_BIAS = [  # TC, DTC, Ω, S
    (1.2597254754403897, 0.8519721697317557, 0.407753305708634, 2.1116976451721454),
    (0.49911985859154484, 0.4991157551022489, 4.103489295914642e-06, 0.9982356136937938),
    (0.5631646370066843, 0.6167421343542259, -0.05357749734754158, 1.1799067713609102),
    (1.2595482885111142, 0.8520339281384466, 0.40751436037266764, 2.111582216649561),
    (0.535735738534532, 0.5362017780891577, -0.0004660395546256524, 1.0719375166236897),
    (2.367650282025564, 3.562681862199895, -1.195031580174331, 5.930332144225459),
    (1.2593647232070087, 0.8521990010807272, 0.40716572212628144, 2.111563724287736),
    (2.746487602475142, 4.044092091032944, -1.297604488557802, 6.790579693508086),
    (3.518009065253761, 4.408022987088188, -0.8900139218344272, 7.926032052341949),
    (1.3684805664538864, 0.9613543129534037, 0.4071262535004827, 2.32983487940729),
    (1.8677989784701854, 1.4120400432915758, 0.45575893517860955, 3.2798390217617612),
    (1.8222533091904278, 1.4678401379987775, 0.3544131711916503, 3.2900934471892054),
    (2.921732558632792, 4.117341526952075, -1.1956089683192825, 7.039074085584867),
    (2.9916035278980093, 4.188314914116532, -1.1967113862185226, 7.179918442014541),
    (2.855649302388544, 4.051968638513777, -1.1963193361252333, 6.9076179409023215),
    (3.626808794112801, 4.415325456389212, -0.788516662276411, 8.042134250502013),
]
HOI_CORE_GC_NOBIAS = [  # TC, DTC, Ω, S
    (1.2608090317516423, 0.8530559069221013, 0.40775312482954096, 2.1138649386737436),
    (0.5002034149027965, 0.5001994922925928, 3.922610203765942e-06, 1.0004029071953893),
    (0.5642481933179351, 0.6178258715445679, -0.05357767822663284, 1.182074064862503),
    (1.2617157630730773, 0.8542021265793238, 0.4075136364937535, 2.115917889652401),
    (0.5379032130964942, 0.5383699765300349, -0.0004667634335406845, 1.0762731896265292),
    (2.36981775658753, 3.5648500606407865, -1.1950323040532567, 5.934667817228316),
    (1.2629777843451375, 0.8558138728234326, 0.40716391152170495, 2.11879165716857),
    (2.7501006636132717, 4.04770696277566, -1.2976062991623882, 6.7978076263889315),
    (3.5234295627172703, 4.413447107576971, -0.8900175448597007, 7.936876670294241),
    (1.373901063917394, 0.9667784334421725, 0.40712263047522157, 2.3406794973595666),
    (1.8732194759336949, 1.4174641637803589, 0.455755312153336, 3.2906836397140538),
    (1.8276738066539373, 1.4732642584875606, 0.3544095481663767, 3.300938065141498),
    (2.927153056096305, 4.122765647440865, -1.1956125913445597, 7.04991870353717),
    (2.997024025361517, 4.193739034605301, -1.1967150092437837, 7.190763059966818),
    (2.8610697998520536, 4.0573927590025605, -1.196322959150507, 6.918462558854614),
    (3.634398759256783, 4.422921765008532, -0.7885230057517489, 8.057320524265315),
]
HOI_CORE_GAUSS = [  # TC, DTC, Ω, S
    (0.8131547063270483, 0.6397085670986744, 0.17344613922837393, 1.4528632734257227),
    (0.28222018016302464, 0.2822262953052501, -6.115142225482373e-06, 0.5644464754682748),
    (0.2944070912340493, 0.31038256467367376, -0.015975473439624466, 0.604789655907723),
    (0.8140680412486372, 0.641029548917345, 0.1730384923312922, 1.4550975901659822),
    (0.2287346170202902, 0.2289545825360335, -0.00021996551574332557, 0.4576891995563237),
    (0.7799109889672362, 0.8725362026564909, -0.09262521368925469, 1.652447191623727),
    (0.8149445021690802, 0.642201391553705, 0.17274311061537517, 1.4571458937227852),
    (0.8682439157499964, 1.0071315635436378, -0.13888764779364138, 1.8753754792936341),
    (1.4852076975695567, 1.4515524403285838, 0.03365525724097296, 2.9367601378981405),
    (0.9259809311207992, 0.753326341197365, 0.1726545899234342, 1.6793072723181641),
    (1.2079477197262243, 1.004312367633375, 0.20363535209284933, 2.2122600873595992),
    (1.1101719672508388, 0.9532636673563388, 0.15690829989449995, 2.0634356346071776),
    (1.3390018848715695, 1.4323990675353855, -0.09339718266381603, 2.771400952406955),
    (1.0138406014213217, 1.106673537388147, -0.0928329359668254, 2.120514138809469),
    (0.9790952563056337, 1.0716440280269808, -0.09254877172134712, 2.0507392843326144),
    (1.5962457458404629, 1.5162284167768263, 0.08001732906363657, 3.112474162617289),
]
HOI_CORE_BINNING = [  # TC, DTC, Ω, S
    (0.7775232411285007, 0.555907058626099, 0.22161618250240167, 1.3334302997545997),
    (0.33573252348737004, 0.33964585690865157, -0.0039133334212815285, 0.6753783803960216),
    (0.35805681147512924, 0.3765300463268364, -0.018473234851707154, 0.7345868578019656),
    (0.7932508151198903, 0.5876048304193944, 0.2056459847004959, 1.3808556455392846),
    (0.3460432730269085, 0.37385745855836916, -0.027814185531460645, 0.7199007315852777),
    (0.9390488790892144, 1.1225913773506981, -0.18354249826148372, 2.0616402564399126),
    (0.8659224728676262, 0.7645774724810366, 0.10134500038658967, 1.6304999453486628),
    (1.213336436845231, 1.497808365426259, -0.284471928581028, 2.71114480227149),
    (1.810935293190627, 2.0690859823322185, -0.25815068914159145, 3.8800212755228456),
    (1.1133761723046174, 1.3993522287400069, -0.2859760564353895, 2.5127284010446242),
    (1.4089635001352452, 1.5902162497614114, -0.18125274962616622, 2.9991797498966566),
    (1.4034678724143994, 1.719223329494369, -0.31575545707996966, 3.1226912019087685),
    (1.4755181398744703, 1.9889818291002257, -0.5134636892257554, 3.464499968974696),
    (1.4941199379419654, 1.9695038643200888, -0.47538392637812343, 3.4636238022620542),
    (1.418867433759143, 1.9300230926720516, -0.5111556589129087, 3.3488905264311946),
    (2.1951992432177825, 3.0459471096862316, -0.8507478664684491, 5.241146352904014),
]
HOI_OINFO_GC_BIAS = [
    0.4077533185482025,
    4.103489118278958e-06,
    -0.053577497601509094,
    0.407514363527298,
    -0.0004660395497921854,
    -1.1950315237045288,
    0.4071657359600067,
    -1.2976044416427612,
    -0.8900139331817627,
    0.407126247882843,
    0.4557589292526245,
    0.3544131815433502,
    -1.1956089735031128,
    -1.1967114210128784,
    -1.196319341659546,
    -0.788516640663147,
]
HOI_OINFO_GC_NOBIAS = [
    0.4077531099319458,
    3.922610176232411e-06,
    -0.05357767641544342,
    0.40751364827156067,
    -0.0004667634202633053,
    -1.1950323581695557,
    0.40716391801834106,
    -1.297606348991394,
    -0.890017569065094,
    0.4071226418018341,
    0.4557553231716156,
    0.3544095456600189,
    -1.1956125497817993,
    -1.196714997291565,
    -1.1963229179382324,
    -0.7885230183601379,
]
HOI_OINFO_BINNING = [
    0.22161617875099182,
    -0.003913333639502525,
    -0.01847323402762413,
    0.20564597845077515,
    -0.027814185246825218,
    -0.18354250490665436,
    0.1013450026512146,
    -0.28447192907333374,
    -0.25815069675445557,
    -0.2859760522842407,
    -0.18125274777412415,
    -0.3157554566860199,
    -0.5134636759757996,
    -0.4753839373588562,
    -0.5111556649208069,
    -0.8507478833198547,
]


def _all(X, mults, **kw):
    """(n_multiplets, 4) array of TC, DTC, Ω, S from the search."""
    return np.column_stack([multiplets(X, mults, measure=m, **kw).values for m in ho.MEASURES])


def test_peer_data_is_the_one_the_peers_saw():
    assert peer_data().sum() == pytest.approx(4172.198975189043, abs=1e-9)
    assert peer_binned().sum() == 13993


@pytest.mark.parametrize(
    ("ref", "kw"),
    [
        (THOI_BIAS, {"estimator": "copula", "bias_correction": True, "base": math.e}),
        (THOI_NOBIAS, {"estimator": "copula", "bias_correction": False, "base": math.e}),
        (HOI_CORE_GC_BIAS, {"estimator": "copula", "bias_correction": True}),
        (HOI_CORE_GC_NOBIAS, {"estimator": "copula", "bias_correction": False}),
    ],
    ids=["thoi-bias", "thoi-nobias", "hoi-gc-bias", "hoi-gc-nobias"],
)
def test_equal_to_thoi_and_hoi_copula(ref, kw):
    got = _all(peer_data(), PEER_MULTIPLETS, **kw)
    np.testing.assert_allclose(got, np.array(ref), rtol=0, atol=1e-9)
    # the one-multiplet functions give the same numbers
    X = peer_data()
    for m, row in zip(PEER_MULTIPLETS[::5], np.array(ref)[::5], strict=True):
        vals = [f(X[:, list(m)], **kw) for f in FUNCS]
        np.testing.assert_allclose(vals, row, rtol=0, atol=1e-9)


def test_equal_to_hoi_gaussian_and_binning():
    X = peer_data()
    got = _all(X - X.mean(axis=0), PEER_MULTIPLETS, estimator="gaussian")
    np.testing.assert_allclose(got, np.array(HOI_CORE_GAUSS), rtol=0, atol=1e-9)
    got = _all(peer_binned(), PEER_MULTIPLETS, estimator="plugin")
    np.testing.assert_allclose(got, np.array(HOI_CORE_BINNING), rtol=0, atol=1e-9)


def test_equal_to_hoi_oinfo_class_at_float32():
    X, Xb = peer_data(), peer_binned()
    for ref, bc in ((HOI_OINFO_GC_BIAS, True), (HOI_OINFO_GC_NOBIAS, False)):
        got = multiplets(X, PEER_MULTIPLETS, bias_correction=bc).values
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(multiplets(Xb, PEER_MULTIPLETS, estimator="plugin").values, HOI_OINFO_BINNING, atol=1e-6)


def test_gradients_equal_hoi_differences():
    # ∂_i Ω of the 7 variables = Ω(all) − Ω(all but i), hoi's Ω values of the 7-plet and the six 6-plets
    omega = {m: row[2] for m, row in zip(PEER_MULTIPLETS, HOI_CORE_GC_NOBIAS, strict=True)}
    full = tuple(range(7))
    expected = [omega[full] - omega[tuple(j for j in full if j != i)] for i in range(7)]
    np.testing.assert_allclose(o_information_gradients(peer_data()), expected, rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------------------------------------------------
def test_gaussian_closed_forms():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5, 5))
    X = rng.standard_normal((3000, 5)) @ A
    cov = np.cov(X, rowvar=False)
    logdet = np.linalg.slogdet(cov)[1]
    tc = 0.5 * (np.log(np.diag(cov)).sum() - logdet)
    dtc = 0.5 * (logdet + np.log(np.diag(np.linalg.inv(cov))).sum())
    kw = {"estimator": "gaussian", "base": math.e}
    assert total_correlation(X, **kw) == pytest.approx(tc, abs=1e-10)
    assert dual_total_correlation(X, **kw) == pytest.approx(dtc, abs=1e-10)
    assert o_information(X, **kw) == pytest.approx(tc - dtc, abs=1e-10)
    assert s_information(X, **kw) == pytest.approx(tc + dtc, abs=1e-10)
    # TC is pidlearn.continuous.multi_information
    from pidlearn.continuous import multi_information

    assert total_correlation(X, estimator="copula") == pytest.approx(
        multi_information(*X.T, estimator="copula"), abs=1e-10
    )


def test_xor_and_copies_plugin():
    table = np.array(list(itertools.product([0, 1], repeat=2)) * 250)
    xor = np.column_stack([table, table[:, 0] ^ table[:, 1]])
    assert o_information(xor, estimator="plugin") == pytest.approx(-1.0, abs=1e-12)
    assert co_information(xor, estimator="plugin") == pytest.approx(-1.0, abs=1e-12)
    assert total_correlation(xor, estimator="plugin") == pytest.approx(1.0, abs=1e-12)
    assert dual_total_correlation(xor, estimator="plugin") == pytest.approx(2.0, abs=1e-12)
    bit = table[:, :1]
    copies = np.hstack([bit, bit, bit])
    assert o_information(copies, estimator="plugin") == pytest.approx(1.0, abs=1e-12)
    assert total_correlation(copies, estimator="plugin") == pytest.approx(2.0, abs=1e-12)
    assert dual_total_correlation(copies, estimator="plugin") == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(o_information_gradients(xor, estimator="plugin"), [-1.0] * 3, atol=1e-12)


@pytest.mark.parametrize("estimator", ["plugin", "miller_madow", "gaussian", "copula"])
def test_three_variables_omega_is_co_information(estimator):
    rng = np.random.default_rng(2)
    if estimator in ("plugin", "miller_madow"):
        a, b = rng.integers(0, 3, (2, 3000))
        X = np.column_stack([a, b, (a + b + rng.integers(0, 2, 3000)) % 3])
    else:
        a, b, c = rng.standard_normal((3, 3000))
        X = np.column_stack([a + b, a + c, a])
    assert o_information(X, estimator=estimator) == pytest.approx(co_information(X, estimator=estimator), abs=1e-10)


def test_co_information_two_variables_is_mutual_information():
    from pidlearn.continuous import mutual_information

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 2000))
    X = np.column_stack([a, a + b])
    mi = mutual_information(X[:, 0], X[:, 1], estimator="gaussian")
    assert co_information(X, estimator="gaussian") == pytest.approx(mi, abs=1e-10)


def test_bias_correction_closed_form():
    from pidlearn.continuous.gaussian import entropy_bias

    X = peer_data()[:, :4]
    n = X.shape[0]
    b1, b3, b4 = (entropy_bias(d, n) for d in (1, 3, 4))
    kw = {"estimator": "copula", "base": math.e}
    tc0, tc1 = (total_correlation(X, bias_correction=bc, **kw) for bc in (False, True))
    dtc0, dtc1 = (dual_total_correlation(X, bias_correction=bc, **kw) for bc in (False, True))
    assert tc1 - tc0 == pytest.approx(b4 - 4 * b1, abs=1e-12)
    assert dtc1 - dtc0 == pytest.approx(3 * b4 - 4 * b3, abs=1e-12)


def test_ksg_close_to_gaussian():
    rng = np.random.default_rng(4)
    a, b, c, d = rng.standard_normal((4, 1500))
    X = np.column_stack([a + 0.5 * b, a + 0.5 * c, a + 0.5 * d])
    g = o_information(X, estimator="gaussian")
    k = o_information(X, estimator="ksg")
    assert g > 0.1
    assert k == pytest.approx(g, abs=0.1)
    assert co_information(X, estimator="ksg") == k


# ---------------------------------------------------------------------------------------------------------------------
# invariants (hypothesis)
# ---------------------------------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.integers(3, 5),
    st.integers(2, 4),
    st.sampled_from(["plugin", "miller_madow", "grassberger"]),
)
def test_discrete_invariants(seed, p, alphabet, estimator):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, alphabet, (60, p))
    X[:, -1] = (X[:, 0] + X[:, 1] * rng.integers(0, 2, 60)) % alphabet
    perm = rng.permutation(p)
    for f in FUNCS:
        assert f(X[:, perm], estimator=estimator) == pytest.approx(f(X, estimator=estimator), abs=1e-10)
    tc, dtc, om, s = (f(X, estimator="plugin") for f in FUNCS)
    assert tc >= -1e-12
    assert dtc >= -1e-12
    assert s >= abs(om) - 1e-12
    g = o_information_gradients(X, estimator=estimator)
    np.testing.assert_allclose(o_information_gradients(X[:, perm], estimator=estimator), g[perm], atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(3, 6), st.sampled_from(["gaussian", "copula"]), st.booleans())
def test_gaussian_invariants(seed, p, estimator, bc):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, p)) @ rng.standard_normal((p, p))
    perm = rng.permutation(p)
    kw = {"estimator": estimator, "bias_correction": bc}
    for f in FUNCS:
        assert f(X[:, perm], **kw) == pytest.approx(f(X, **kw), abs=1e-9)
    tc, dtc, om, s = (f(X, estimator=estimator) for f in FUNCS)
    assert tc >= -1e-12
    assert dtc >= -1e-12
    assert s >= abs(om) - 1e-12


# ---------------------------------------------------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------------------------------------------------
def _mixed(n=800, p=8, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 2] = X[:, 0] + X[:, 1] + 0.3 * rng.standard_normal(n)
    if p > 5:  # a redundant triplet (3, 4, 5)
        X[:, 3] = X[:, 4] + 0.3 * rng.standard_normal(n)
        X[:, 5] = X[:, 4] + 0.3 * rng.standard_normal(n)
    return X


@pytest.mark.parametrize("measure", ho.MEASURES)
@pytest.mark.parametrize(("estimator", "bc"), [("copula", False), ("gaussian", True), ("plugin", False)])
def test_search_equals_functions(measure, estimator, bc):
    X = _mixed()
    if estimator == "plugin":
        X = (X > 0).astype(int) + (X > 1)
    res = multiplets(X, (3, 5), measure=measure, estimator=estimator, bias_correction=bc)
    expected_rows = [c for k in range(3, 6) for c in itertools.combinations(range(8), k)]
    assert len(res) == len(expected_rows) == ho.n_multiplets(8, (3, 5))
    assert [res.multiplet(i) for i in range(len(res))] == expected_rows
    idx = res.indices
    assert [tuple(r[r >= 0]) for r in idx] == expected_rows
    f = dict(zip(ho.MEASURES, FUNCS, strict=True))[measure]
    one = np.array([f(X[:, list(m)], estimator=estimator, bias_correction=bc) for m in expected_rows])
    np.testing.assert_allclose(res.values, one, rtol=0, atol=1e-12)
    # an explicit list in another order gives the same values
    order = np.random.default_rng(0).permutation(len(expected_rows))
    listed = multiplets(X, [expected_rows[i] for i in order], measure=measure, estimator=estimator, bias_correction=bc)
    np.testing.assert_array_equal(listed.values, res.values[order])


def test_search_ksg_and_top():
    X = _mixed(n=300, p=6)
    res = multiplets(X, 3, estimator="ksg")
    assert len(res) == 20
    assert res.top_synergistic(1)[0][0] == (0, 1, 2)
    assert res.top_redundant(1)[0][0] == (3, 4, 5)
    assert res.values[0] == o_information(X[:, [0, 1, 2]], estimator="ksg")


def test_top_and_to_dict_and_plot(tmp_path):
    X = _mixed()
    res = multiplets(X, (3, 4), top=3, names=[f"v{i}" for i in range(8)])
    syn, red = res.top_synergistic(), res.top_redundant()
    assert len(syn) == len(red) == 3
    assert [v for _, v in syn] == sorted(res.values)[:3]
    assert [v for _, v in red] == sorted(res.values, reverse=True)[:3]
    assert syn[0][0] == (0, 1, 2)
    assert red[0][0][:2] != (0, 1)
    d = res.to_dict()
    json.dumps(d)
    assert d["n_multiplets"] == len(res) == 56 + 70
    assert set(d["per_size"]) == {"3", "4"}
    full = res.to_dict(values=True)
    assert len(full["values"]) == len(full["multiplets"]) == len(res)
    assert "v0" in res.table()
    import matplotlib

    matplotlib.use("Agg")
    fig, _ = res.plot()
    fig.savefig(tmp_path / "ho.png")
    assert (tmp_path / "ho.png").stat().st_size > 0


def test_dask_equals_serial():
    pytest.importorskip("dask")
    X = _mixed(p=10)
    serial = multiplets(X, (3, 6))
    threads = multiplets(X, (3, 6), scheduler="threads", chunk_size=97)
    np.testing.assert_array_equal(threads.values, serial.values)
    Xd = (X > 0).astype(int)
    listed = [(0, 1, 2), (3, 4, 5, 6), (1, 2, 3, 4, 5)] * 7
    a = multiplets(Xd, listed, estimator="grassberger")
    b = multiplets(Xd, listed, estimator="grassberger", scheduler="synchronous", chunk_size=4)
    np.testing.assert_array_equal(a.values, b.values)


def test_dask_client_equals_serial():
    distributed = pytest.importorskip("distributed")
    X = _mixed(p=9)
    serial = multiplets(X, (3, 5), bias_correction=True)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl,
        distributed.Client(cl) as client,
    ):
        on_dask = multiplets(X, (3, 5), bias_correction=True, client=client, chunk_size=50)
        disc = multiplets((X > 0).astype(int), (3, 4), estimator="plugin", client=client, chunk_size=30)
    np.testing.assert_array_equal(on_dask.values, serial.values)
    np.testing.assert_array_equal(disc.values, multiplets((X > 0).astype(int), (3, 4), estimator="plugin").values)


# ---------------------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------------------
def test_validation_errors():
    X = _mixed(p=6)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        o_information(bad)
    with pytest.raises(ValueError, match="NaN or inf"):
        multiplets(bad, 3)
    with pytest.raises(ValueError, match="at least 3"):
        o_information(X[:, :2])
    with pytest.raises(ValueError, match="at least 3"):
        o_information_gradients(X[:, :2])
    with pytest.raises(ValueError, match="at least 2"):
        total_correlation(X[:, :1])
    with pytest.raises(ValueError, match="out of range"):
        multiplets(X, (2, 3))
    with pytest.raises(ValueError, match="out of range"):
        multiplets(X, (3, 7))
    with pytest.raises(ValueError, match="out of range"):
        multiplets(X, [(0, 1, 9)])
    with pytest.raises(ValueError, match="repeats"):
        multiplets(X, [(0, 1, 1)])
    with pytest.raises(ValueError, match=r"42 multiplets .* exceed max_multiplets = 40"):
        multiplets(X, (3, 6), max_multiplets=40)
    with pytest.raises(ValueError, match="exceed max_multiplets"):
        multiplets(np.zeros((5, 60)) + np.arange(60), (3, 8))  # 2.9e9 multiplets: refused before any work
    const = X.copy()
    const[:, 4] = 1.5
    with pytest.raises(ValueError, match=r"X\[:, 4\] is constant"):
        o_information(const)
    copy = X.copy()
    copy[:, 1] = copy[:, 0]
    with pytest.raises(ValueError, match="singular"):
        o_information(copy, estimator="gaussian")
    with pytest.raises(ValueError, match=r"variables \(0, 1, 2\) is singular"):
        multiplets(copy, 3, estimator="gaussian")
    with pytest.raises(ValueError, match="estimator must be one of"):
        o_information(X, estimator="kde")
    with pytest.raises(ValueError, match="bias_correction applies"):
        o_information(X.astype(int), estimator="plugin", bias_correction=True)
    with pytest.raises(ValueError, match="measure must be one of"):
        multiplets(X, 3, measure="oinfo")
    with pytest.raises(ValueError, match="more samples"):
        o_information(X[:5])
    with pytest.raises(ValueError, match="non-integer"):
        o_information(X, estimator="plugin")
    with pytest.raises(ValueError, match="2-D"):
        o_information(X[:, 0])
    with pytest.raises(ValueError, match="at most one"):
        multiplets(X, 3, scheduler="threads", client=object())


# ---------------------------------------------------------------------------------------------------------------------
# CLI (the plugin, registered here as the lead will register it in pidlearn.cli._PLUGINS)
# ---------------------------------------------------------------------------------------------------------------------
@pytest.fixture
def cli(monkeypatch):
    from pidlearn import cli as cli_mod

    if "pidlearn._cli_higher_order" not in cli_mod._PLUGINS:
        monkeypatch.setattr(cli_mod, "_PLUGINS", (*cli_mod._PLUGINS, "pidlearn._cli_higher_order"))
    return cli_mod.main


def _csv(tmp_path, X, names):
    path = tmp_path / "data.csv"
    lines = [",".join(names)] + [",".join(repr(float(v)) for v in row) for row in X]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_json_and_text(cli, tmp_path, capsys):
    X = _mixed(p=6)
    names = [f"c{i}" for i in range(6)]
    path = _csv(tmp_path, X, names)
    assert cli(["higher-order", str(path), "--sizes", "3", "4", "--top", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    res = multiplets(X, (3, 4), top=2)
    assert out["n_multiplets"] == len(res) == 35
    assert out["estimator"] == "copula"
    assert [r["multiplet"] for r in out["top_synergistic"]] == [list(m) for m, _ in res.top_synergistic()]
    assert out["top_synergistic"][0]["value"] == pytest.approx(res.top_synergistic()[0][1], abs=1e-12)
    png = tmp_path / "p.png"
    args = ["higher-order", str(path), "--columns", "c0", "c1", "c2", "c3", "--measure", "s_information"]
    assert cli([*args, "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "s_information" in text
    assert "(c0, c1, c2" in text
    assert png.stat().st_size > 0


def test_cli_errors(cli, tmp_path, capsys):
    X = _mixed(p=4)
    path = _csv(tmp_path, X, ["a", "b", "c", "d"])
    assert cli(["higher-order", str(path), "--sizes", "3", "9", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert "out of range" in out["error"]
    assert cli(["higher-order", str(path), "--columns", "a", "zz"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "error:" in err
