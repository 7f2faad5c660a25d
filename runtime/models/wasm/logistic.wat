;; Hand-written WebAssembly for the per-sample AdaGrad logistic-regression loop (trainAdagradLocal in
;; ../logistic.ts). Same math as the native reference kernel (refkernel.c), in float32 like it.
;; Plain JS runs this loop at 35-50 % of native speed: its float64-only sqrt and division and its
;; bounds checks dominate; wasm has f32.sqrt / f32.div and free bounds checks.
;; Regenerate logistic-wasm.ts after editing: `node runtime/models/wasm/build.mjs`.
(module
  (memory (export "memory") 1)

  ;; exp(x), clamped to |x| <= 700: x = k ln2 + r with |r| <= ln2/2, exp(r) by its Taylor
  ;; polynomial to degree 9 (relative error below 1e-11), times 2^k built from the exponent bits.
  (func $exp (param $x f64) (result f64)
    (local $k f64) (local $r f64)
    (local.set $x (f64.min (f64.max (local.get $x) (f64.const -700)) (f64.const 700)))
    (local.set $k (f64.nearest (f64.mul (local.get $x) (f64.const 1.4426950408889634))))
    ;; ln2 split in a high and a low part so that k * ln2 loses no precision
    (local.set $r (f64.sub (f64.sub (local.get $x) (f64.mul (local.get $k) (f64.const 0.6931471803691238)))
                           (f64.mul (local.get $k) (f64.const 1.9082149292705877e-10))))
    (f64.mul
      (f64.add (f64.const 1) (f64.mul (local.get $r)
      (f64.add (f64.const 1) (f64.mul (local.get $r)
      (f64.add (f64.const 0.5) (f64.mul (local.get $r)
      (f64.add (f64.const 0.16666666666666666) (f64.mul (local.get $r)
      (f64.add (f64.const 0.041666666666666664) (f64.mul (local.get $r)
      (f64.add (f64.const 0.008333333333333333) (f64.mul (local.get $r)
      (f64.add (f64.const 0.001388888888888889) (f64.mul (local.get $r)
      (f64.add (f64.const 0.0001984126984126984) (f64.mul (local.get $r)
      (f64.add (f64.const 0.0000248015873015873) (f64.mul (local.get $r)
               (f64.const 0.0000027557319223985893)))))))))))))))))))
      (f64.reinterpret_i64 (i64.shl (i64.add (i64.trunc_f64_s (local.get $k)) (i64.const 1023)) (i64.const 52)))))

  (func (export "exp") (param f64) (result f64) (call $exp (local.get 0)))

  ;; One pass of per-sample AdaGrad over rows [from, to). Every pointer is a byte offset into memory:
  ;; labels f32[], rowStart u32[], idx u32[], val f32[] (the partition's columns), w f32[], g2 f32[].
  ;; A feature id >= $features traps (unreachable): it would otherwise write outside w.
  ;; JS calls this in chunks of rows: V8 moves a wasm function to its optimising tier between
  ;; calls, never inside one long call.
  ;; SIMD (wasm 128-bit, 4 entries at a time) where it changes no result: the products of the dot
  ;; product are made 4 at a time but added to z one by one in order, as the scalar loop does; the
  ;; update does its f32 mul / add / sqrt / div 4 lanes at a time (each lane rounds exactly as the
  ;; scalar op), and a group of 4 whose ids repeat (the second must see the first's update) is done
  ;; by the scalar loop. The sqrt and the division per entry were most of the update's time.
  (func (export "train") (param $from i32) (param $to i32) (param $labels i32) (param $rowStart i32)
                         (param $idx i32) (param $val i32) (param $w i32) (param $g2 i32) (param $lr f32)
                         (param $features i32)
    (local $s i32) (local $o i32) (local $end i32) (local $end4 i32) (local $first i32) (local $at i32)
    (local $z f32) (local $gr f32)
    (local $ids v128) (local $vals v128) (local $offs v128) (local $prod v128) (local $gv v128) (local $qv v128) (local $wv v128)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local.set $s (local.get $from))
    (block $rows_done (loop $each_row
      (br_if $rows_done (i32.ge_u (local.get $s) (local.get $to)))
      ;; first, end: byte offsets of this row's (index, value) pairs; end4: where groups of 4 stop
      (local.set $at (i32.add (local.get $rowStart) (i32.shl (local.get $s) (i32.const 2))))
      (local.set $first (i32.shl (i32.load (local.get $at)) (i32.const 2)))
      (local.set $end (i32.shl (i32.load offset=4 (local.get $at)) (i32.const 2)))
      (local.set $end4 (i32.sub (local.get $end) (i32.and (i32.sub (local.get $end) (local.get $first)) (i32.const 15))))
      ;; z = w . x: four products at a time, summed in order
      (local.set $z (f32.const 0))
      (local.set $o (local.get $first))
      (block $dot4_done (loop $dot4
        (br_if $dot4_done (i32.ge_u (local.get $o) (local.get $end4)))
        (local.set $ids (v128.load (i32.add (local.get $idx) (local.get $o))))
        (if (v128.any_true (i32x4.ge_u (local.get $ids) (i32x4.splat (local.get $features)))) (then unreachable))
        (local.set $offs (i32x4.add (i32x4.splat (local.get $w)) (i32x4.shl (local.get $ids) (i32.const 2))))
        (local.set $prod (f32x4.mul
          (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
            (f32x4.splat (f32.load (i32x4.extract_lane 0 (local.get $offs))))
            (f32.load (i32x4.extract_lane 1 (local.get $offs))))
            (f32.load (i32x4.extract_lane 2 (local.get $offs))))
            (f32.load (i32x4.extract_lane 3 (local.get $offs))))
          (v128.load (i32.add (local.get $val) (local.get $o)))))
        (local.set $z (f32.add (f32.add (f32.add (f32.add (local.get $z)
          (f32x4.extract_lane 0 (local.get $prod))) (f32x4.extract_lane 1 (local.get $prod)))
          (f32x4.extract_lane 2 (local.get $prod))) (f32x4.extract_lane 3 (local.get $prod))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $dot4)))
      (block $dot_done (loop $dot
        (br_if $dot_done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $a0 (i32.load (i32.add (local.get $idx) (local.get $o))))
        (if (i32.ge_u (local.get $a0) (local.get $features)) (then unreachable))
        (local.set $z (f32.add (local.get $z)
          (f32.mul (f32.load (i32.add (local.get $w) (i32.shl (local.get $a0) (i32.const 2))))
                   (f32.load (i32.add (local.get $val) (local.get $o))))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $dot)))
      ;; gr = sigmoid(z) - label
      (local.set $gr (f32.sub
        (f32.demote_f64 (f64.div (f64.const 1) (f64.add (f64.const 1) (call $exp (f64.neg (f64.promote_f32 (local.get $z)))))))
        (f32.load (i32.add (local.get $labels) (i32.shl (local.get $s) (i32.const 2))))))
      ;; g2 += g^2; w -= lr g / sqrt(g2), for each non-zero feature: four at a time
      (local.set $o (local.get $first))
      (block $upd4_done (loop $upd4
        (br_if $upd4_done (i32.ge_u (local.get $o) (local.get $end4)))
        (local.set $ids (v128.load (i32.add (local.get $idx) (local.get $o))))
        (if (v128.any_true (v128.or
              (i32x4.eq (local.get $ids) (i8x16.shuffle 4 5 6 7 8 9 10 11 12 13 14 15 0 1 2 3 (local.get $ids) (local.get $ids)))
              (i32x4.eq (local.get $ids) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $ids) (local.get $ids)))))
          (then
            ;; an id repeats within the four: one by one
            (call $update1 (local.get $o) (local.get $idx) (local.get $val) (local.get $w) (local.get $g2) (local.get $gr) (local.get $lr))
            (call $update1 (i32.add (local.get $o) (i32.const 4)) (local.get $idx) (local.get $val) (local.get $w) (local.get $g2) (local.get $gr) (local.get $lr))
            (call $update1 (i32.add (local.get $o) (i32.const 8)) (local.get $idx) (local.get $val) (local.get $w) (local.get $g2) (local.get $gr) (local.get $lr))
            (call $update1 (i32.add (local.get $o) (i32.const 12)) (local.get $idx) (local.get $val) (local.get $w) (local.get $g2) (local.get $gr) (local.get $lr)))
          (else
            (local.set $offs (i32x4.shl (local.get $ids) (i32.const 2)))
            (local.set $a0 (i32x4.extract_lane 0 (local.get $offs)))
            (local.set $a1 (i32x4.extract_lane 1 (local.get $offs)))
            (local.set $a2 (i32x4.extract_lane 2 (local.get $offs)))
            (local.set $a3 (i32x4.extract_lane 3 (local.get $offs)))
            (local.set $vals (v128.load (i32.add (local.get $val) (local.get $o))))
            (local.set $gv (f32x4.mul (f32x4.splat (local.get $gr)) (local.get $vals)))
            (local.set $qv (f32x4.add
              (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
                (f32x4.splat (f32.load (i32.add (local.get $g2) (local.get $a0))))
                (f32.load (i32.add (local.get $g2) (local.get $a1))))
                (f32.load (i32.add (local.get $g2) (local.get $a2))))
                (f32.load (i32.add (local.get $g2) (local.get $a3))))
              (f32x4.mul (local.get $gv) (local.get $gv))))
            ;; lanes with a zero value change nothing (the scalar loop skips them): their step is masked to 0
            (local.set $wv (f32x4.sub
              (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
                (f32x4.splat (f32.load (i32.add (local.get $w) (local.get $a0))))
                (f32.load (i32.add (local.get $w) (local.get $a1))))
                (f32.load (i32.add (local.get $w) (local.get $a2))))
                (f32.load (i32.add (local.get $w) (local.get $a3))))
              (v128.and
                (f32x4.div (f32x4.mul (f32x4.splat (local.get $lr)) (local.get $gv)) (f32x4.sqrt (local.get $qv)))
                (f32x4.ne (local.get $vals) (f32x4.splat (f32.const 0))))))
            ;; a zero value's g2 is written back unchanged (g2 + 0)
            (f32.store (i32.add (local.get $g2) (local.get $a0)) (f32x4.extract_lane 0 (local.get $qv)))
            (f32.store (i32.add (local.get $g2) (local.get $a1)) (f32x4.extract_lane 1 (local.get $qv)))
            (f32.store (i32.add (local.get $g2) (local.get $a2)) (f32x4.extract_lane 2 (local.get $qv)))
            (f32.store (i32.add (local.get $g2) (local.get $a3)) (f32x4.extract_lane 3 (local.get $qv)))
            (f32.store (i32.add (local.get $w) (local.get $a0)) (f32x4.extract_lane 0 (local.get $wv)))
            (f32.store (i32.add (local.get $w) (local.get $a1)) (f32x4.extract_lane 1 (local.get $wv)))
            (f32.store (i32.add (local.get $w) (local.get $a2)) (f32x4.extract_lane 2 (local.get $wv)))
            (f32.store (i32.add (local.get $w) (local.get $a3)) (f32x4.extract_lane 3 (local.get $wv)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $upd4)))
      (block $upd_done (loop $upd
        (br_if $upd_done (i32.ge_u (local.get $o) (local.get $end)))
        (call $update1 (local.get $o) (local.get $idx) (local.get $val) (local.get $w) (local.get $g2) (local.get $gr) (local.get $lr))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $upd)))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br $each_row))))

  ;; The update of one entry (byte offset $o into idx / val), for the groups the SIMD loop leaves.
  (func $update1 (param $o i32) (param $idx i32) (param $val i32) (param $w i32) (param $g2 i32) (param $gr f32) (param $lr f32)
    (local $v f32) (local $g f32) (local $q f32) (local $at i32)
    (local.set $v (f32.load (i32.add (local.get $val) (local.get $o))))
    (if (f32.ne (local.get $v) (f32.const 0)) (then
      (local.set $at (i32.shl (i32.load (i32.add (local.get $idx) (local.get $o))) (i32.const 2)))
      (local.set $g (f32.mul (local.get $gr) (local.get $v)))
      (local.set $q (f32.add (f32.load (i32.add (local.get $g2) (local.get $at))) (f32.mul (local.get $g) (local.get $g))))
      (f32.store (i32.add (local.get $g2) (local.get $at)) (local.get $q))
      (f32.store (i32.add (local.get $w) (local.get $at))
        (f32.sub (f32.load (i32.add (local.get $w) (local.get $at)))
                 (f32.div (f32.mul (local.get $lr) (local.get $g)) (f32.sqrt (local.get $q))))))))

  ;; ---- The minibatch kernels of the parameter-server steps: TouchedSet.collect (../touched.ts) and
  ;; logisticGradient (../logistic.ts). In JS they were most of a worker's CPU per sample (hash
  ;; probes and scattered float32 reads behind bounds checks). Same algorithm and same float
  ;; arithmetic as the JS they replace (test/models/minibatch-wasm.test.ts compares them bit for bit).

  ;; The sorted unique values of src[0 .. n) (u32, each < $limit) into ids, and each entry's position
  ;; among them into local[0 .. n). Returns the count, or -1 - k for the first entry k >= $limit
  ;; (then nothing else is written). An LSD radix sort of the entries (10 bits a pass, $passes
  ;; passes) carrying their index, ping-ponging between (aId, aK) and (bId, bK) (aId may be src:
  ;; src is read only by the first pass), then one scan that numbers the distinct ids. No hash
  ;; table: every step is branch-free but the loop tests (a hash table's found / new / collision
  ;; branches were mispredicted about one entry in four). counts: 1024 u32 of scratch.
  (func (export "collect")
    (param $src i32) (param $n i32) (param $limit i32) (param $ids i32) (param $local i32)
    (param $aId i32) (param $aK i32) (param $bId i32) (param $bK i32) (param $counts i32) (param $passes i32)
    (result i32)
    (local $k i32) (local $id i32) (local $j i32) (local $pass i32) (local $radix i32) (local $sum i32)
    (local $c i32) (local $at i32) (local $inId i32) (local $inK i32) (local $outId i32) (local $outK i32)
    (local $u i32) (local $prev i32)
    ;; Refuse an id outside the table before writing anything.
    (block $checked
      (loop $check
        (br_if $checked (i32.ge_u (local.get $k) (local.get $n)))
        (if (i32.ge_u (i32.load (i32.add (local.get $src) (i32.shl (local.get $k) (i32.const 2)))) (local.get $limit))
          (then (return (i32.sub (i32.const -1) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $check)))
    ;; The entries' indexes ride along the sort: aK[k] = k (src stays where it is for the first pass).
    (local.set $k (i32.const 0))
    (block $indexed
      (loop $index
        (br_if $indexed (i32.ge_u (local.get $k) (local.get $n)))
        (i32.store (i32.add (local.get $aK) (i32.shl (local.get $k) (i32.const 2))) (local.get $k))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $index)))
    (local.set $inId (local.get $src))
    (local.set $inK (local.get $aK))
    (local.set $outId (local.get $bId))
    (local.set $outK (local.get $bK))
    (block $sorted
      (loop $passLoop
        (br_if $sorted (i32.ge_u (local.get $pass) (local.get $passes)))
        (local.set $j (i32.const 0))
        (block $zeroed
          (loop $zero
            (br_if $zeroed (i32.ge_u (local.get $j) (i32.const 1024)))
            (i32.store (i32.add (local.get $counts) (i32.shl (local.get $j) (i32.const 2))) (i32.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $zero)))
        (local.set $j (i32.const 0))
        (block $counted
          (loop $count
            (br_if $counted (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $at (i32.add (local.get $counts) (i32.shl (i32.and (i32.shr_u
              (i32.load (i32.add (local.get $inId) (i32.shl (local.get $j) (i32.const 2)))) (local.get $radix)) (i32.const 1023)) (i32.const 2))))
            (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $count)))
        (local.set $j (i32.const 0))
        (local.set $sum (i32.const 0))
        (block $summed
          (loop $prefix
            (br_if $summed (i32.ge_u (local.get $j) (i32.const 1024)))
            (local.set $at (i32.add (local.get $counts) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $c (i32.load (local.get $at)))
            (i32.store (local.get $at) (local.get $sum))
            (local.set $sum (i32.add (local.get $sum) (local.get $c)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $prefix)))
        (local.set $j (i32.const 0))
        (block $moved
          (loop $move
            (br_if $moved (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $id (i32.load (i32.add (local.get $inId) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $at (i32.add (local.get $counts) (i32.shl (i32.and (i32.shr_u (local.get $id) (local.get $radix)) (i32.const 1023)) (i32.const 2))))
            (local.set $c (i32.load (local.get $at)))
            (i32.store (local.get $at) (i32.add (local.get $c) (i32.const 1)))
            (i32.store (i32.add (local.get $outId) (i32.shl (local.get $c) (i32.const 2))) (local.get $id))
            (i32.store (i32.add (local.get $outK) (i32.shl (local.get $c) (i32.const 2)))
                       (i32.load (i32.add (local.get $inK) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $move)))
        ;; The next pass reads what this one wrote and writes the other pair (never src again).
        (local.set $inId (local.get $outId))
        (local.set $inK (local.get $outK))
        (if (i32.eq (local.get $outId) (local.get $bId))
          (then (local.set $outId (local.get $aId)) (local.set $outK (local.get $aK)))
          (else (local.set $outId (local.get $bId)) (local.set $outK (local.get $bK))))
        (local.set $radix (i32.add (local.get $radix) (i32.const 10)))
        (local.set $pass (i32.add (local.get $pass) (i32.const 1)))
        (br $passLoop)))
    ;; Number the distinct ids in sorted order: ids[u] is written for every entry (a repeat writes
    ;; the cell after the last id, rewritten by the next new one), u grows on a new id.
    (local.set $prev (i32.const -1)) ;; no id: ids are < $limit <= 2^31
    (local.set $j (i32.const 0))
    (block $numbered
      (loop $number
        (br_if $numbered (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $id (i32.load (i32.add (local.get $inId) (i32.shl (local.get $j) (i32.const 2)))))
        (i32.store (i32.add (local.get $ids) (i32.shl (local.get $u) (i32.const 2))) (local.get $id))
        (local.set $u (i32.add (local.get $u) (i32.ne (local.get $id) (local.get $prev))))
        (local.set $prev (local.get $id))
        (i32.store (i32.add (local.get $local) (i32.shl (i32.load (i32.add (local.get $inK) (i32.shl (local.get $j) (i32.const 2)))) (i32.const 2)))
                   (i32.sub (local.get $u) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $number)))
    (local.get $u))

  ;; Margins of a minibatch: z[r] (f64) = sum over the row's entries of w[local[k]] * val[k], in f64,
  ;; in entry order, as the JS did. rowStart: the rows' u32 offsets into the partition (rows + 1 of
  ;; them), made relative by subtracting $first; local, val: the entries from $first on; w: f32 rows.
  (func (export "margins") (param $rows i32) (param $rowStart i32) (param $first i32) (param $local i32)
    (param $val i32) (param $w i32) (param $z i32)
    (local $r i32) (local $k i32) (local $b i32) (local $s f64)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $k (i32.shl (i32.sub (i32.load (i32.add (local.get $rowStart) (i32.shl (local.get $r) (i32.const 2)))) (local.get $first)) (i32.const 2)))
        (local.set $b (i32.shl (i32.sub (i32.load (i32.add (local.get $rowStart) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 2)))) (local.get $first)) (i32.const 2)))
        (local.set $s (f64.const 0))
        (block $rowDone
          (loop $entry
            (br_if $rowDone (i32.ge_u (local.get $k) (local.get $b)))
            (local.set $s (f64.add (local.get $s) (f64.mul
              (f64.promote_f32 (f32.load (i32.add (local.get $w) (i32.shl (i32.load (i32.add (local.get $local) (local.get $k))) (i32.const 2)))))
              (f64.promote_f32 (f32.load (i32.add (local.get $val) (local.get $k)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $entry)))
        (f64.store (i32.add (local.get $z) (i32.shl (local.get $r) (i32.const 3))) (local.get $s))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; The minibatch's gradient into g[0 .. n) (f32): zeroed, then g[local[k]] += gr[r] * val[k] for each
  ;; entry k of row r (gr: f64 per row; each sum rounded to f32 as it is stored, as the JS did), then
  ;; every g[j] scaled by $scale (f64 product rounded to f32).
  (func (export "scatter") (param $rows i32) (param $rowStart i32) (param $first i32) (param $local i32)
    (param $val i32) (param $gr i32) (param $g i32) (param $n i32) (param $scale f64)
    (local $r i32) (local $k i32) (local $b i32) (local $p i32) (local $x f64) (local $j i32)
    (block $zeroed
      (loop $zero
        (br_if $zeroed (i32.ge_u (local.get $j) (local.get $n)))
        (f32.store (i32.add (local.get $g) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $zero)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $k (i32.shl (i32.sub (i32.load (i32.add (local.get $rowStart) (i32.shl (local.get $r) (i32.const 2)))) (local.get $first)) (i32.const 2)))
        (local.set $b (i32.shl (i32.sub (i32.load (i32.add (local.get $rowStart) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 2)))) (local.get $first)) (i32.const 2)))
        (local.set $x (f64.load (i32.add (local.get $gr) (i32.shl (local.get $r) (i32.const 3)))))
        (block $rowDone
          (loop $entry
            (br_if $rowDone (i32.ge_u (local.get $k) (local.get $b)))
            (local.set $p (i32.add (local.get $g) (i32.shl (i32.load (i32.add (local.get $local) (local.get $k))) (i32.const 2))))
            (f32.store (local.get $p) (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (local.get $p)))
              (f64.mul (local.get $x) (f64.promote_f32 (f32.load (i32.add (local.get $val) (local.get $k))))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $entry)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))
    (local.set $j (i32.const 0))
    (block $scaled
      (loop $scale
        (br_if $scaled (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $p (i32.add (local.get $g) (i32.shl (local.get $j) (i32.const 2))))
        (f32.store (local.get $p) (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (local.get $p))) (local.get $scale))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $scale))))
)
