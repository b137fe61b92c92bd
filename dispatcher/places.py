"""The places of the generated service network: stations, customer cities, their clocks.

Data tables only, for :mod:`dispatcher.generate` (which draws from them) and
:mod:`dispatcher.demand`. Coordinates are city centres (WGS 84, degrees). Local times are
fixed UTC offsets, not the tz database: none of these places observes daylight saving, and a
tzdata update must not change a shipped fixture (see :mod:`dispatcher.generate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone, tzinfo

_CN_TZ = timezone(timedelta(hours=8))
_XJ_TZ = timezone(timedelta(hours=6))  # Xinjiang time, what Asia/Urumqi uses


@dataclass(frozen=True, slots=True)
class Station:
    name: str
    lat: float
    lon: float
    weight: float  # relative head count
    timezone: str
    tz: tzinfo


@dataclass(frozen=True, slots=True)
class City:
    name: str
    country: str
    lat: float
    lon: float
    weight: float  # relative ticket volume
    tz: tzinfo  # local clock of site opening hours
    remote: bool = False


STATIONS = (
    Station("Jinan", 36.6512, 117.1201, 6.0, "Asia/Shanghai", _CN_TZ),
    Station("Beijing", 39.9042, 116.4074, 3.0, "Asia/Shanghai", _CN_TZ),
    Station("Shanghai", 31.2304, 121.4737, 3.0, "Asia/Shanghai", _CN_TZ),
    Station("Guangzhou", 23.1291, 113.2644, 3.0, "Asia/Shanghai", _CN_TZ),
    Station("Chengdu", 30.5728, 104.0668, 2.0, "Asia/Shanghai", _CN_TZ),
    Station("Wuhan", 30.5928, 114.3055, 2.0, "Asia/Shanghai", _CN_TZ),
    Station("Xi'an", 34.3416, 108.9398, 2.0, "Asia/Shanghai", _CN_TZ),
    Station("Shenyang", 41.8057, 123.4315, 2.0, "Asia/Shanghai", _CN_TZ),
    Station("Urumqi", 43.8256, 87.6168, 1.0, "Asia/Urumqi", _XJ_TZ),
)


def _cn(name: str, lat: float, lon: float, weight: float, remote: bool = False) -> City:
    # Xinjiang plants keep Xinjiang time in practice; everywhere else in China is Beijing time.
    tz = _XJ_TZ if lon < 90 else _CN_TZ
    return City(name, "CN", lat, lon, weight, tz, remote)


def _abroad(name: str, country: str, lat: float, lon: float, weight: float, hours: float) -> City:
    return City(name, country, lat, lon, weight, timezone(timedelta(hours=hours)))


DOMESTIC_CITIES = (
    _cn("Tangshan", 39.6309, 118.1802, 3.0),
    _cn("Handan", 36.6256, 114.5391, 1.5),
    _cn("Shijiazhuang", 38.0428, 114.5149, 1.5),
    _cn("Baotou", 40.6574, 109.8403, 2.0),
    _cn("Ordos", 39.6086, 109.7810, 1.5),
    _cn("Hohhot", 40.8424, 111.7490, 1.0),
    _cn("Taiyuan", 37.8706, 112.5489, 2.0),
    _cn("Datong", 40.0768, 113.3001, 1.5),
    _cn("Zibo", 36.8131, 118.0548, 2.0),
    _cn("Linyi", 35.1041, 118.3564, 2.0),
    _cn("Qingdao", 36.0671, 120.3826, 2.0),
    _cn("Yantai", 37.4638, 121.4479, 1.5),
    _cn("Xuzhou", 34.2058, 117.2840, 1.5),
    _cn("Zhengzhou", 34.7466, 113.6254, 2.0),
    _cn("Luoyang", 34.6197, 112.4540, 2.0),
    _cn("Nanjing", 32.0603, 118.7969, 2.0),
    _cn("Suzhou", 31.2989, 120.5853, 1.5),
    _cn("Hangzhou", 30.2741, 120.1551, 1.0),
    _cn("Ningbo", 29.8683, 121.5440, 1.5),
    _cn("Hefei", 31.8206, 117.2272, 1.5),
    _cn("Tongling", 30.9450, 117.8121, 1.0),
    _cn("Nanchang", 28.6820, 115.8579, 1.0),
    _cn("Changsha", 28.2282, 112.9388, 2.0),
    _cn("Fuzhou", 26.0745, 119.2965, 1.0),
    _cn("Xiamen", 24.4798, 118.0894, 1.0),
    _cn("Shenzhen", 22.5431, 114.0579, 1.5),
    _cn("Foshan", 23.0215, 113.1214, 1.5),
    _cn("Nanning", 22.8170, 108.3665, 1.0),
    _cn("Chongqing", 29.5630, 106.5516, 2.0),
    _cn("Guiyang", 26.6470, 106.6302, 1.0),
    _cn("Kunming", 24.8801, 102.8329, 1.5),
    _cn("Panzhihua", 26.5823, 101.7186, 1.0),
    _cn("Lanzhou", 36.0611, 103.8343, 1.0),
    _cn("Jinchang", 38.5142, 102.1879, 0.8),
    _cn("Yinchuan", 38.4872, 106.2309, 1.0),
    _cn("Xining", 36.6171, 101.7782, 0.7),
    _cn("Anshan", 41.1087, 122.9946, 1.5),
    _cn("Dalian", 38.9140, 121.6147, 1.5),
    _cn("Changchun", 43.8171, 125.3235, 1.5),
    _cn("Harbin", 45.8038, 126.5350, 1.0),
    _cn("Daqing", 46.5907, 125.1035, 1.0),
    _cn("Korla", 41.7259, 86.1746, 0.5),
    _cn("Golmud", 36.4072, 94.9031, 0.4, remote=True),
    _cn("Karamay", 45.5799, 84.8892, 0.6, remote=True),
    _cn("Kashgar", 39.4704, 75.9898, 0.4, remote=True),
    _cn("Lhasa", 29.6520, 91.1721, 0.4, remote=True),
)

# Industrial cities of each station's area, the station's own city first (``STATIONS``
# order). Every one lies within AREA_KM - JITTER_KM (dispatcher.generate) of its station, so
# its sites are in the area (a test checks it); weights are relative ticket volume inside
# the area.
STATION_AREAS: tuple[tuple[City, ...], ...] = (
    (  # Jinan: steel, cement and chemical plants of central Shandong
        _cn("Jinan", 36.6512, 117.1201, 3.0),
        _cn("Zibo", 36.8131, 118.0548, 2.0),
        _cn("Tai'an", 36.1999, 117.0884, 1.0),
        _cn("Laiwu", 36.2137, 117.6770, 1.5),
        _cn("Liaocheng", 36.4570, 115.9854, 1.0),
        _cn("Dezhou", 37.4355, 116.3575, 1.0),
        _cn("Jining", 35.4146, 116.5871, 1.5),
        _cn("Binzhou", 37.3835, 117.9707, 1.0),
        _cn("Dongying", 37.4346, 118.6749, 1.0),
    ),
    (  # Beijing
        _cn("Beijing", 39.9042, 116.4074, 1.5),
        _cn("Tangshan", 39.6309, 118.1802, 3.0),
        _cn("Tianjin", 39.3434, 117.3616, 2.0),
        _cn("Langfang", 39.5380, 116.6837, 1.0),
        _cn("Baoding", 38.8739, 115.4646, 1.0),
        _cn("Zhangjiakou", 40.8244, 114.8875, 1.0),
        _cn("Chengde", 40.9510, 117.9634, 1.0),
    ),
    (  # Shanghai
        _cn("Shanghai", 31.2304, 121.4737, 2.0),
        _cn("Suzhou", 31.2989, 120.5853, 1.5),
        _cn("Wuxi", 31.4912, 120.3119, 1.5),
        _cn("Changzhou", 31.8107, 119.9741, 1.0),
        _cn("Jiaxing", 30.7461, 120.7555, 1.0),
        _cn("Huzhou", 30.8703, 120.0933, 1.0),
        _cn("Hangzhou", 30.2741, 120.1551, 1.0),
        _cn("Ningbo", 29.8683, 121.5440, 1.5),
    ),
    (  # Guangzhou
        _cn("Guangzhou", 23.1291, 113.2644, 1.5),
        _cn("Foshan", 23.0215, 113.1214, 1.5),
        _cn("Dongguan", 23.0207, 113.7518, 1.5),
        _cn("Shenzhen", 22.5431, 114.0579, 1.0),
        _cn("Zhaoqing", 23.0472, 112.4651, 1.0),
        _cn("Qingyuan", 23.6820, 113.0560, 1.0),
        _cn("Jiangmen", 22.5787, 113.0819, 1.0),
        _cn("Yunfu", 22.9151, 112.0445, 1.0),
    ),
    (  # Chengdu
        _cn("Chengdu", 30.5728, 104.0668, 1.5),
        _cn("Deyang", 31.1270, 104.3979, 1.5),
        _cn("Mianyang", 31.4675, 104.6796, 1.0),
        _cn("Meishan", 30.0757, 103.8485, 1.0),
        _cn("Leshan", 29.5521, 103.7656, 1.5),
        _cn("Ya'an", 29.9805, 103.0133, 0.5),
        _cn("Neijiang", 29.5802, 105.0584, 1.0),
    ),
    (  # Wuhan
        _cn("Wuhan", 30.5928, 114.3055, 2.0),
        _cn("Huangshi", 30.1996, 115.0389, 1.5),
        _cn("Ezhou", 30.3960, 114.8946, 1.0),
        _cn("Xiaogan", 30.9246, 113.9169, 0.7),
        _cn("Xianning", 29.8413, 114.3225, 0.7),
    ),
    (  # Xi'an
        _cn("Xi'an", 34.3416, 108.9398, 1.5),
        _cn("Xianyang", 34.3296, 108.7093, 1.0),
        _cn("Weinan", 34.4997, 109.5102, 1.0),
        _cn("Tongchuan", 34.8967, 108.9451, 1.0),
        _cn("Baoji", 34.3619, 107.2373, 1.0),
        _cn("Shangluo", 33.8704, 109.9404, 0.7),
    ),
    (  # Shenyang
        _cn("Shenyang", 41.8057, 123.4315, 1.5),
        _cn("Anshan", 41.1087, 122.9946, 1.5),
        _cn("Fushun", 41.8807, 123.9573, 1.0),
        _cn("Benxi", 41.2943, 123.7665, 1.0),
        _cn("Liaoyang", 41.2694, 123.2372, 0.7),
        _cn("Tieling", 42.2862, 123.8425, 0.5),
        _cn("Yingkou", 40.6670, 122.2349, 1.0),
    ),
    (  # Urumqi
        _cn("Urumqi", 43.8256, 87.6168, 1.5),
        _cn("Changji", 44.0114, 87.3040, 1.0),
        _cn("Fukang", 44.1646, 87.9853, 0.7),
        _cn("Shihezi", 44.3060, 86.0806, 1.0),
        _cn("Turpan", 42.9513, 89.1895, 0.5),
    ),
)

OVERSEAS_CITIES = (
    _abroad("Jakarta", "ID", -6.2088, 106.8456, 2.0, 7),
    _abroad("Surabaya", "ID", -7.2575, 112.7521, 1.0, 7),
    _abroad("Balikpapan", "ID", -1.2379, 116.8529, 0.7, 8),
    _abroad("Ho Chi Minh City", "VN", 10.8231, 106.6297, 1.5, 7),
    _abroad("Hanoi", "VN", 21.0278, 105.8342, 1.5, 7),
    _abroad("Bangkok", "TH", 13.7563, 100.5018, 1.5, 7),
    _abroad("Kuala Lumpur", "MY", 3.1390, 101.6869, 1.0, 8),
    _abroad("Manila", "PH", 14.5995, 120.9842, 1.0, 8),
    _abroad("Vientiane", "LA", 17.9757, 102.6331, 0.5, 7),
    _abroad("Phnom Penh", "KH", 11.5564, 104.9282, 0.5, 7),
    _abroad("Yangon", "MM", 16.8409, 96.1735, 0.5, 6.5),
    _abroad("Almaty", "KZ", 43.2220, 76.8512, 1.0, 5),
    _abroad("Astana", "KZ", 51.1694, 71.4491, 0.5, 5),
    _abroad("Karaganda", "KZ", 49.8047, 73.1094, 0.7, 5),
    _abroad("Tashkent", "UZ", 41.2995, 69.2401, 1.0, 5),
    _abroad("Bishkek", "KG", 42.8746, 74.5698, 0.7, 6),
    _abroad("Dushanbe", "TJ", 38.5598, 68.7870, 0.4, 5),
    _abroad("Ulaanbaatar", "MN", 47.8864, 106.9057, 0.8, 8),
)
