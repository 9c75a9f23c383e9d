"""webapp.netguard.is_public over a table of addresses, public and not:
every form of IPv4 inside IPv6 is judged by the IPv4 address or refused."""
import pytest

from webapp.push.netguard import is_public

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "142.250.185.106",  # an FCM address
    "17.57.146.20",  # an Apple address
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200a",
    "::ffff:8.8.8.8",  # IPv4-mapped public
    "2002:808:808::1",  # 6to4 around 8.8.8.8
    "64:ff9b::808:808",  # NAT64 well-known prefix around 8.8.8.8
]

NOT_PUBLIC = [
    # IPv4
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254",
    "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.0.1", "198.18.0.1",
    "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255",
    # IPv6 itself
    "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "feff::1", "ff02::1", "ff0e::1",
    "2001:db8::1", "3fff::1", "2001:2::1", "5f00::1", "100::1",
    # IPv4 inside IPv6
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # mapped
    "::7f00:1", "::127.0.0.1", "::8.8.8.8",  # compatible (deprecated): refused whatever it holds
    "::ffff:0:7f00:1", "::ffff:0:808:808",  # translated
    "2002:7f00:1::", "2002:a00:1::", "2002:c0a8:1::1",  # 6to4 around private IPv4
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::1",  # Teredo
    "64:ff9b::7f00:1", "64:ff9b::a00:1",  # NAT64 well-known around private IPv4
    "64:ff9b:1::808:808", "64:ff9b:1::7f00:1",  # NAT64 local use
]


def test_the_table_is_large_enough():
    assert len(PUBLIC) + len(NOT_PUBLIC) >= 40


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address):
    assert is_public(address)


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_not_public(address):
    assert not is_public(address)
