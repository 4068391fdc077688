package org.catonnx.runtime.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenShardsTest {
    @Test
    void readsUint16AndUint32Windows(@TempDir Path dir) throws Exception {
        int[] tokens = new int[100];
        for (int i = 0; i < tokens.length; i++) tokens[i] = i * 7 % 60000;
        TokenShards.write(dir.resolve("a.bin"), tokens, TokenShards.TokenType.UINT16);
        TokenShards.write(dir.resolve("b.u32"), new int[] {70000, 1, 2, 3, 4, 5}, TokenShards.TokenType.UINT32);
        TokenShards s = TokenShards.open(dir, TokenShards.TokenType.UINT16); // the directory: *.bin only
        assertEquals(1, s.numShards());
        assertEquals(100, s.totalTokens());
        assertEquals(99 * 7 % 60000, s.token(0, 99));
        TokenShards.Batch b = s.sequentialBatch(1, 2, 10);
        assertArrayEquals(new long[] {10, 20}, new long[] {b.inputIds().toLongs()[0] / 7, b.inputIds().toLongs()[10] / 7});
        long[] ids = b.inputIds().toLongs(), labels = b.labels().toLongs();
        for (int i = 0; i < 9; i++) assertEquals(ids[i + 1], labels[i]);
        assertEquals(9, s.sequentialWindows(10)); // (100 - 1) / 10 windows of 11 tokens
        SplitMix64 r1 = new SplitMix64(3), r2 = new SplitMix64(3);
        assertArrayEquals(s.randomBatch(r1, 4, 10).inputIds().toLongs(), s.randomBatch(r2, 4, 10).inputIds().toLongs());
        assertEquals(r1.state(), r2.state());
        assertNotEquals(new SplitMix64(4).nextLong(), new SplitMix64(3).nextLong());
        TokenShards u = TokenShards.open(List.of(dir.resolve("b.u32")), TokenShards.TokenType.UINT32);
        assertEquals(70000, u.token(0, 0));
        u.checkIds(70001);
    }

    @Test
    void clearErrorsNameTheFile(@TempDir Path dir) throws Exception {
        Path odd = dir.resolve("odd.bin");
        Files.write(odd, new byte[] {1, 2, 3});
        TokenShards.ShardException e = assertThrows(TokenShards.ShardException.class, () -> TokenShards.open(odd, TokenShards.TokenType.UINT16));
        assertEquals(odd, e.file);
        assertTrue(e.getMessage().contains("odd.bin") && e.getMessage().contains("not a multiple of 2"), e.getMessage());

        Path six = dir.resolve("six.bin");
        Files.write(six, new byte[6]);
        e = assertThrows(TokenShards.ShardException.class, () -> TokenShards.open(six, TokenShards.TokenType.UINT32));
        assertTrue(e.getMessage().contains("not a multiple of 4"), e.getMessage());

        Path empty = dir.resolve("empty.bin");
        Files.write(empty, new byte[0]);
        e = assertThrows(TokenShards.ShardException.class, () -> TokenShards.open(empty, TokenShards.TokenType.UINT16));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());

        e = assertThrows(TokenShards.ShardException.class, () -> TokenShards.open(dir.resolve("missing.bin"), TokenShards.TokenType.UINT16));
        assertTrue(e.getMessage().contains("missing.bin") && e.getMessage().contains("no such file"), e.getMessage());

        Path sub = Files.createDirectory(dir.resolve("nobins"));
        e = assertThrows(TokenShards.ShardException.class, () -> TokenShards.open(sub, TokenShards.TokenType.UINT16));
        assertTrue(e.getMessage().contains("no *.bin"), e.getMessage());

        Path big = dir.resolve("ids.bin");
        TokenShards.write(big, new int[] {1, 2, 300, 4}, TokenShards.TokenType.UINT16);
        TokenShards s = TokenShards.open(big, TokenShards.TokenType.UINT16);
        e = assertThrows(TokenShards.ShardException.class, () -> s.checkIds(256));
        assertTrue(e.getMessage().contains("ids.bin") && e.getMessage().contains("token id 300 at position 2"), e.getMessage());
        e = assertThrows(TokenShards.ShardException.class, () -> s.checkWindows(4));
        assertTrue(e.getMessage().contains("seq_len + 1 = 5"), e.getMessage());
        s.checkWindows(3);

        assertThrows(IllegalArgumentException.class, () -> TokenShards.TokenType.parse("int8"));
    }
}
