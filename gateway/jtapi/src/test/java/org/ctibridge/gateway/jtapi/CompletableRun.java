package org.ctibridge.gateway.jtapi;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/** Waits until an executor has run everything queued before (tests). */
final class CompletableRun {
    private CompletableRun() {}

    static void drain(ExecutorService ex) throws InterruptedException {
        CountDownLatch l = new CountDownLatch(1);
        ex.execute(l::countDown);
        l.await(30, TimeUnit.SECONDS);
    }
}
