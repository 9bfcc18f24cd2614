package dev.mae4j.io;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the pickle that torch.save writes (protocols 2 to 5) into plain Java values — maps, lists, strings,
 * numbers, booleans, null and {@link TensorRef}s — without running anything. Only the globals a state dict
 * needs are known (tensor rebuilding, OrderedDict, storages and argparse.Namespace as a plain container);
 * any other global is refused, so a hostile file cannot execute code or build arbitrary objects.
 */
final class RestrictedUnpickler {
    /** A tensor as the pickle describes it: a view (offset, size, stride in elements) of a storage. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    /** One storage of the zip archive: data/{key}, {@code numel} elements of {@code type} ("FloatStorage", ...). */
    record StorageRef(String type, String key, long numel) {}

    /** A refused or malformed pickle. */
    static final class PickleException extends IOException {
        PickleException(String message) {
            super(message);
        }
    }

    private static final Set<String> STORAGE_TYPES = Set.of(
            "FloatStorage",
            "DoubleStorage",
            "HalfStorage",
            "BFloat16Storage",
            "LongStorage",
            "IntStorage",
            "ShortStorage",
            "CharStorage",
            "ByteStorage",
            "BoolStorage");
    private static final int MAX_DEPTH = 10_000, MAX_MEMO = 10_000_000;

    // Markers for the globals we know: they are values on the stack until REDUCE/NEWOBJ applies them.
    private record Global(String module, String name) {}

    private static final Object MARK = new Object();

    private final ByteBuffer in;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private RestrictedUnpickler(byte[] pickle) {
        this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
    }

    static Object load(byte[] pickle) throws PickleException {
        try {
            return new RestrictedUnpickler(pickle).run();
        } catch (java.nio.BufferUnderflowException e) {
            throw new PickleException("the pickle ends early");
        } catch (ClassCastException | IndexOutOfBoundsException e) {
            throw new PickleException("malformed pickle (" + e.getMessage() + ")");
        }
    }

    private Object run() throws PickleException {
        while (true) {
            if (stack.size() > MAX_DEPTH || marks.size() > MAX_DEPTH)
                throw new PickleException("the pickle nests too deeply");
            int op = in.get() & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = in.get() & 0xff;
                    if (v < 2 || v > 5)
                        throw new PickleException("pickle protocol " + v + " is not one torch.save writes");
                }
                case 0x95 -> in.getLong(); // FRAME: framing only
                case '.' -> { // STOP
                    if (stack.size() != 1) throw new PickleException("the pickle leaves " + stack.size() + " values");
                    return stack.getFirst();
                }
                case '(' -> {
                    marks.add(stack.size());
                    stack.add(MARK);
                }
                case '}' -> push(new LinkedHashMap<>());
                case ']' -> push(new ArrayList<>());
                case ')' -> push(List.of());
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'K' -> push((long) (in.get() & 0xff)); // BININT1
                case 'M' -> push((long) (in.getShort() & 0xffff)); // BININT2
                case 'J' -> push((long) in.getInt()); // BININT
                case 0x8a -> push(long1(in.get() & 0xff)); // LONG1
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT (big-endian)
                case 'X' -> push(string(in.getInt())); // BINUNICODE
                case 0x8c -> push(string(in.get() & 0xff)); // SHORT_BINUNICODE
                case 0x8d -> push(string(in.getLong())); // BINUNICODE8
                case 'T' -> push(string(in.getInt())); // BINSTRING (bytes as latin text)
                case 'U' -> push(string(in.get() & 0xff)); // SHORT_BINSTRING
                case 'q' -> memoPut(in.get() & 0xff); // BINPUT
                case 'r' -> memoPut(in.getInt() & 0xffffffffL); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'h' -> push(memoGet(in.get() & 0xff)); // BINGET
                case 'j' -> push(memoGet(in.getInt() & 0xffffffffL)); // LONG_BINGET
                case 't' -> push(java.util.Collections.unmodifiableList(popMark())); // TUPLE
                case 0x85 -> push(tuple(1));
                case 0x86 -> push(tuple(2));
                case 0x87 -> push(tuple(3));
                case 'l' -> push(new ArrayList<>(popMark())); // LIST
                case 'a' -> {
                    Object v = pop();
                    list(peek()).add(v);
                } // APPEND
                case 'e' -> {
                    List<Object> items = popMark();
                    list(peek()).addAll(items);
                } // APPENDS
                case 'd' -> {
                    List<Object> items = popMark();
                    push(dictOf(items));
                } // DICT
                case 's' -> {
                    Object v = pop(), k = pop();
                    dict(peek()).put(k, v);
                } // SETITEM
                case 'u' -> {
                    List<Object> items = popMark();
                    dict(peek()).putAll(dictOf(items));
                } // SETITEMS
                case 'c' -> push(global(line(), line())); // GLOBAL
                case 0x93 -> {
                    Object name = pop(), module = pop();
                    push(global((String) module, (String) name));
                } // STACK_GLOBAL
                case 'Q' -> push(persistent(pop())); // BINPERSID
                case 'R' -> {
                    Object args = pop(), f = pop();
                    push(reduce(f, (List<?>) args));
                } // REDUCE
                case 0x81 -> {
                    Object args = pop(), cls = pop();
                    push(newObject(cls, (List<?>) args));
                } // NEWOBJ
                case 'b' -> build(pop(), peek()); // BUILD
                case '0' -> pop(); // POP
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                default ->
                    throw new PickleException(String.format("pickle opcode 0x%02x is not allowed in a checkpoint", op));
            }
        }
    }

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() throws PickleException {
        if (stack.isEmpty()) throw new PickleException("pickle stack underflow");
        Object o = stack.removeLast();
        if (o == MARK) throw new PickleException("pickle pops a mark");
        return o;
    }

    private Object peek() throws PickleException {
        if (stack.isEmpty() || stack.getLast() == MARK) throw new PickleException("pickle stack underflow");
        return stack.getLast();
    }

    private List<Object> popMark() throws PickleException {
        if (marks.isEmpty()) throw new PickleException("pickle has no mark to pop");
        int at = marks.removeLast();
        List<Object> items = new ArrayList<>(stack.subList(at + 1, stack.size()));
        stack.subList(at, stack.size()).clear();
        return items;
    }

    private List<Object> tuple(int n) throws PickleException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return java.util.Collections.unmodifiableList(java.util.Arrays.asList(items));
    }

    private void memoPut(long index) throws PickleException {
        if (memo.size() >= MAX_MEMO) throw new PickleException("the pickle memo is too large");
        memo.put(index, peek());
    }

    private Object memoGet(long index) throws PickleException {
        if (!memo.containsKey(index))
            throw new PickleException("pickle refers to memo entry " + index + " before it is set");
        return memo.get(index);
    }

    private String string(long length) throws PickleException {
        if (length < 0 || length > in.remaining()) throw new PickleException("a pickle string runs past the end");
        byte[] b = new byte[(int) length];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private String line() throws PickleException {
        StringBuilder s = new StringBuilder();
        for (byte b; (b = in.get()) != '\n'; ) {
            if (s.length() > 1000) throw new PickleException("a pickle global name is too long");
            s.append((char) (b & 0xff));
        }
        return s.toString();
    }

    private Object long1(int n) {
        byte[] b = new byte[n];
        in.get(b);
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) be[i] = b[n - 1 - i];
        BigInteger v = n == 0 ? BigInteger.ZERO : new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) throws PickleException {
        if (!(o instanceof ArrayList<?>)) throw new PickleException("pickle appends to something that is not a list");
        return (List<Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> dict(Object o) throws PickleException {
        if (!(o instanceof LinkedHashMap<?, ?>))
            throw new PickleException("pickle sets an item on something that is not a dict");
        return (Map<Object, Object>) o;
    }

    private static Map<Object, Object> dictOf(List<Object> items) throws PickleException {
        if (items.size() % 2 != 0) throw new PickleException("pickle dict has an odd number of items");
        Map<Object, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < items.size(); i += 2) m.put(items.get(i), items.get(i + 1));
        return m;
    }

    private static Global global(String module, String name) throws PickleException {
        String full = module + "." + name;
        boolean known = switch (full) {
            case "torch._utils._rebuild_tensor_v2",
                    "torch._utils._rebuild_parameter",
                    "collections.OrderedDict",
                    "argparse.Namespace",
                    "torch._utils._rebuild_tensor" -> true;
            default -> module.equals("torch") && STORAGE_TYPES.contains(name);
        };
        if (!known)
            throw new PickleException("the checkpoint refers to '" + full + "', which a plain state dict never needs; "
                    + "it is refused and never executed");
        return new Global(module, name);
    }

    private static Object persistent(Object pid) throws PickleException {
        if (!(pid instanceof List<?> t)
                || t.size() != 5
                || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof Global g)
                || !(t.get(2) instanceof String key)
                || !(t.get(4) instanceof Long numel)
                || numel < 0) throw new PickleException("unknown persistent id " + pid);
        if (!STORAGE_TYPES.contains(g.name())) throw new PickleException("unknown storage type " + g.name());
        return new StorageRef(g.name(), key, numel);
    }

    private static Object reduce(Object f, List<?> args) throws PickleException {
        if (!(f instanceof Global g)) throw new PickleException("pickle calls something that is not a known global");
        switch (g.module() + "." + g.name()) {
            case "collections.OrderedDict":
                if (!args.isEmpty()) throw new PickleException("OrderedDict with arguments");
                return new LinkedHashMap<>();
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
                if (args.size() < 4 || !(args.get(0) instanceof StorageRef s) || !(args.get(1) instanceof Long offset))
                    throw new PickleException("malformed tensor record " + args);
                return new TensorRef(s, offset, longs(args.get(2)), longs(args.get(3)));
            case "torch._utils._rebuild_parameter":
                if (args.isEmpty() || !(args.get(0) instanceof TensorRef t))
                    throw new PickleException("malformed parameter record");
                return t;
            default:
                throw new PickleException("pickle calls " + g.module() + "." + g.name());
        }
    }

    private static Object newObject(Object cls, List<?> args) throws PickleException {
        if (cls instanceof Global g && g.module().equals("argparse") && g.name().equals("Namespace") && args.isEmpty())
            return new LinkedHashMap<>(); // its fields arrive by BUILD
        throw new PickleException("pickle creates an object of " + cls);
    }

    // BUILD: a dict state on a dict-like (OrderedDict's _metadata, Namespace's fields) is kept as entries' attributes.
    private static void build(Object state, Object target) throws PickleException {
        if (!(target instanceof LinkedHashMap<?, ?>))
            throw new PickleException("pickle builds something that is not a container");
        if (!(state instanceof Map<?, ?> fields))
            throw new PickleException("pickle builds with a state that is not a dict");
        if (fields.containsKey("_metadata")) return; // OrderedDict state_dict metadata: versions only
        dict(target).putAll(fields);
    }

    private static long[] longs(Object o) throws PickleException {
        if (!(o instanceof List<?> l)) throw new PickleException("expected a tuple of integers, got " + o);
        long[] r = new long[l.size()];
        for (int i = 0; i < r.length; i++) {
            if (!(l.get(i) instanceof Long v) || v < 0)
                throw new PickleException("expected a tuple of non-negative integers, got " + o);
            r[i] = v;
        }
        return r;
    }
}
