"""The host side of the device programs: Ctrl-C is held to a dispatch boundary, and an ignored SIGINT stays
ignored."""
import os
import signal

from simulator.engine.driver import deferred_interrupt


def test_the_first_ctrl_c_is_held_and_the_second_interrupts_at_once(ctrl_c):
    with deferred_interrupt() as interrupted:
        assert not interrupted()
        os.kill(os.getpid(), signal.SIGINT)        # held: no KeyboardInterrupt here
        assert interrupted()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler    # the next one is not held
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored():
    # A background job of a shell script starts with SIGINT ignored; the loop used to install its handler
    # anyway, so such a run stopped at a Ctrl-C meant for its parent.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with deferred_interrupt() as interrupted:
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            assert not interrupted()
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
